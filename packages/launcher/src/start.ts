import { webApp, workerApp } from './apps.ts';
import { run } from './run.ts';

// `pnpm start`: database (embedded unless DATABASE_URL is set), migrations, demo data, web and worker.
await run({ apps: () => [webApp(), workerApp()], seed: true, announce: true, mode: 'production' });
