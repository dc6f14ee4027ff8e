import { workerApp } from './apps.ts';
import { run } from './run.ts';

await run({ apps: () => [workerApp()], seed: false, announce: false, mode: 'production' });
