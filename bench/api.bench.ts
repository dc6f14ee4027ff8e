/**
 * GET /api/executions/:id/status for an execution of 1,000 tasks under load, beside
 * GET /api/health (the floor), both at the same fixed rate over loopback. Writes
 * bench/results/api.json.
 */
import autocannon from 'autocannon';
import { benchDatabase, round, startBenchWeb, writeResult } from './support.ts';

const DURATION_S = 10;
const RATE = 200;
const CONNECTIONS = 10;

async function load(url: string, headers: Record<string, string>) {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, overallRate: RATE, duration: DURATION_S });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: round(result.requests.average, 1), p50_ms: round(result.latency.p50), p99_ms: round(result.latency.p99) };
}

export async function run(): Promise<void> {
  const db = await benchDatabase();
  const web = await startBenchWeb(db.url);
  const base = web.base;
  const post = web.post;
  try {
    const { token, workspaceId } = await web.account();
    const workspace = { id: workspaceId };
    const items = Array.from({ length: 1000 }, (_, i) => ({ key: `t${i}`, description: `Task ${i}`, agentType: 'analysis', input: { fields: ['n'] }, dependsOn: i % 10 === 0 ? [] : [`t${i - 1}`] }));
    const { strategy } = await post('/api/strategies', { workspaceId: workspace.id, name: 'bench', items }, token);
    const { executionId } = await post('/api/executions/start', { strategyId: strategy.id, workspaceId: workspace.id }, token);
    const auth = { authorization: `Bearer ${token}` };
    console.log(`  status of a 1,000-task execution at ${RATE} req/s for ${DURATION_S} s`);
    const status = await load(`${base}/api/executions/${executionId}/status`, auth);
    console.log(`  health at ${RATE} req/s for ${DURATION_S} s`);
    const health = await load(`${base}/api/health`, {});
    writeResult('api', { status, health, settings: { rate: RATE, connections: CONNECTIONS, durationSeconds: DURATION_S, tasks: 1000 } });
  } finally {
    await web.stop();
    await db.drop();
  }
}
