import { join } from 'node:path';
import type { AppSpec } from './supervisor.ts';
import { WEB_DIR, WORKER_DIR } from './paths.ts';

const node = process.execPath;

/**
 * V8 in Node 24 sizes the young generation from the machine's memory: on a 24 GiB machine an
 * idle web process held 250-290 MB, most of it new space it never needed. 16 MB semi-spaces kept
 * the web's peak RSS with 1,000 stream subscribers at ~250 MB instead of ~360 MB with no latency
 * cost measured (issue 12). The Dockerfile and bench/support.ts start the web with the same flag.
 */
export const WEB_NODE_FLAGS = ['--max-semi-space-size=16'];

export const webApp = (): AppSpec => ({ name: 'web', command: node, args: [...WEB_NODE_FLAGS, 'server.ts', '--supervised'], cwd: WEB_DIR });
export const workerApp = (): AppSpec => ({ name: 'worker', command: node, args: ['src/main.ts', '--supervised'], cwd: WORKER_DIR });
export const webDevApp = (port: number): AppSpec => ({
  name: 'web',
  command: node,
  args: [join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'dev', '--port', String(port), '--strictPort'],
  cwd: WEB_DIR,
});
export const workerDevApp = (): AppSpec => ({ name: 'worker', command: node, args: ['--watch', 'src/main.ts', '--supervised'], cwd: WORKER_DIR });
