import { webDevApp, workerDevApp } from './apps.ts';
import { run } from './run.ts';

// `pnpm dev`: the same database handling, with vite's dev server and a reloading worker.
await run({ apps: (port) => [webDevApp(port), workerDevApp()], seed: true, announce: true, mode: 'development' });
