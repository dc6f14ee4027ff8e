import { webApp } from './apps.ts';
import { run } from './run.ts';

await run({ apps: () => [webApp()], seed: false, announce: true, mode: 'production' });
