import { pino } from 'pino';
import { Writable } from 'node:stream';
import { builtInRegistry } from '@strata/agents';
import { createLogger, parseConfig } from '@strata/config';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSettings, startWorker, type Worker } from './worker.ts';
import getPort from 'get-port';

let test: TestDatabase;
const silent = createLogger('worker-test', 'silent');
const started: Worker[] = [];

/** A port free right now on loopback (get-port). */
const freePort = (): Promise<number> => getPort({ host: '127.0.0.1' });

async function worker(metrics: { port: number; token?: string }, logger = silent): Promise<Worker> {
  const config = parseConfig({ DATABASE_URL: test.url });
  const w = await startWorker({
    databaseUrl: test.url,
    logger,
    shutdownTimeoutMs: 10_000,
    engine: engineSettings(config, builtInRegistry({ config, db: test.db })),
    metrics: { host: '127.0.0.1', token: metrics.token, port: metrics.port },
  });
  started.push(w);
  return w;
}

beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => {
  for (const w of started) await w.stop().catch(() => {});
  await test?.drop();
});

describe('a worker serves /metrics on WORKER_METRICS_PORT', () => {
  it('answers on its port, 401 without METRICS_TOKEN and 200 with it', async () => {
    const port = await freePort();
    const w = await worker({ port, token: 'worker-token' });
    expect(w.metricsPort).toBe(port);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer worker-token' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('# TYPE strata_tasks_finished_total counter');
    // The state gauges come from this worker's database at scrape.
    expect(text).toMatch(/strata_queue_jobs\{agent_type="email",state="ready"\} 0/);
    expect((await fetch(`http://127.0.0.1:${port}/other`, { headers: { authorization: 'Bearer worker-token' } })).status).toBe(404);
    await w.stop();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('listens on nothing with port 0', async () => {
    const w = await worker({ port: 0 });
    expect(w.metricsPort).toBeNull();
  });

  it('a second worker on the same port runs on without metrics and says why', async () => {
    const port = await freePort();
    const first = await worker({ port });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } }));
    const second = await worker({ port }, logger as unknown as typeof silent);
    expect(first.metricsPort).toBe(port);
    expect(second.metricsPort).toBeNull();
    expect(second.engine).toBeDefined();
    const warning = lines.map((line) => JSON.parse(line) as { msg: string; port: number }).find((entry) => entry.msg.includes('WORKER_METRICS_PORT'));
    expect(warning?.port).toBe(port);
    expect(warning?.msg).toContain(`port ${port} is in use`);
    // The first one still answers.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });
});
