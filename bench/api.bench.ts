/**
 * GET /api/executions/:id/status for an execution of 1,000 tasks under load, beside
 * GET /api/health (the floor), both at the same fixed rate over loopback. Writes
 * bench/results/api.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { benchDatabase, machine, round, writeResult } from './support.ts';

const WEB_DIR = fileURLToPath(new URL('../apps/web/', import.meta.url));
const DURATION_S = 10;
const RATE = 200;
const CONNECTIONS = 10;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function load(url: string, headers: Record<string, string>) {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, overallRate: RATE, duration: DURATION_S });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: round(result.requests.average, 1), p50_ms: round(result.latency.p50), p99_ms: round(result.latency.p99) };
}

export async function run(): Promise<void> {
  if (!existsSync(`${WEB_DIR}build/handler.js`)) {
    console.log('  building apps/web');
    spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], { cwd: WEB_DIR, stdio: 'inherit' });
  }
  const db = await benchDatabase();
  const port = await freePort();
  const web = spawn(process.execPath, ['server.ts'], {
    cwd: WEB_DIR,
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_STATUS_PER_MIN: '0', RATE_LIMIT_START_PER_MIN: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/api/health`)).ok) break;
      } catch {}
      if (i > 200) throw new Error('web did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const post = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const { token } = await post('/api/auth/signup', { email: 'bench@example.com', password: 'benchmark password' });
    const { workspace } = await post('/api/workspaces', { name: 'bench' }, token);
    const items = Array.from({ length: 1000 }, (_, i) => ({ key: `t${i}`, description: `Task ${i}`, agentType: 'analysis', input: { fields: ['n'] }, dependsOn: i % 10 === 0 ? [] : [`t${i - 1}`] }));
    const { strategy } = await post('/api/strategies', { workspaceId: workspace.id, name: 'bench', items }, token);
    const { executionId } = await post('/api/executions/start', { strategyId: strategy.id, workspaceId: workspace.id }, token);
    const auth = { authorization: `Bearer ${token}` };
    console.log(`  status of a 1,000-task execution at ${RATE} req/s for ${DURATION_S} s`);
    const status = await load(`${base}/api/executions/${executionId}/status`, auth);
    console.log(`  health at ${RATE} req/s for ${DURATION_S} s`);
    const health = await load(`${base}/api/health`, {});
    writeResult('api', { status, health, settings: { rate: RATE, connections: CONNECTIONS, durationSeconds: DURATION_S, tasks: 1000 }, machine: machine() });
  } finally {
    web.kill('SIGTERM');
    await new Promise((r) => web.once('exit', r));
    await db.drop();
  }
}
