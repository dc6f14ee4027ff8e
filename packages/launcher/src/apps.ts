import { join } from 'node:path';
import type { AppSpec } from './supervisor.ts';
import { WEB_DIR, WORKER_DIR } from './paths.ts';

const node = process.execPath;

export const webApp = (): AppSpec => ({ name: 'web', command: node, args: ['server.ts', '--supervised'], cwd: WEB_DIR });
export const workerApp = (): AppSpec => ({ name: 'worker', command: node, args: ['src/main.ts', '--supervised'], cwd: WORKER_DIR });
export const webDevApp = (port: number): AppSpec => ({
  name: 'web',
  command: node,
  args: [join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'dev', '--port', String(port), '--strictPort'],
  cwd: WEB_DIR,
});
export const workerDevApp = (): AppSpec => ({ name: 'worker', command: node, args: ['--watch', 'src/main.ts', '--supervised'], cwd: WORKER_DIR });
