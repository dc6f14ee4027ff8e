import { createEngineHarness, type EngineHarness, keyedGates } from '@strata/engine/testing';
import { parseScrape } from '@strata/metrics/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readSse } from './stream-clients.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Issue 15, metrics on the built web server (server.ts over build/): `GET /metrics` behind
 * METRICS_TOKEN, requests counted under their route template, the execution it started, a
 * stream subscriber while it is open, and the state gauges read from the database.
 */
let h: EngineHarness;
let web: RunningWeb;
let token: string;
let workspaceId: string;
const gates = keyedGates();
const METRICS_TOKEN = 'a metrics token for the web test';

async function scrape() {
  const response = await fetch(`${web.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseScrape(await response.text());
}

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('content', async ({ task }) => {
    await gates.gate(task.key).promise;
    return { written: true };
  });
  await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 2 } });
  web = await startWeb({ DATABASE_URL: h.database.url, METRICS_TOKEN });
  token = (await apiCall(web.url, '/api/auth/signup', { body: { email: 'metrics@example.com', password: 'a metrics password' } })).body.token;
  workspaceId = (await apiCall(web.url, '/api/workspaces', { body: { name: 'Metrics' }, token })).body.workspace.id;
});
afterAll(async () => {
  for (const g of gates.all()) g.resolve();
  await web?.stop();
  await h?.close();
});

describe('GET /metrics on the web process', () => {
  it('needs the token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${web.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${web.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('counts a run started here, its open stream and requests by route template', async () => {
    const strategy = await apiCall(web.url, '/api/strategies', {
      token,
      body: { workspaceId, name: 'Two posts', items: [{ key: 'a', description: 'A', agentType: 'content', input: { prompt: 'A' } }, { key: 'b', description: 'B', agentType: 'content', input: { prompt: 'B' }, dependsOn: ['a'] }] },
    });
    expect(strategy.status).toBe(201);
    const started = await apiCall(web.url, '/api/executions/start', { token, body: { strategyId: strategy.body.strategy.id, workspaceId } });
    expect(started.status).toBe(200);
    const executionId: string = started.body.executionId;
    for (let i = 0; i < 3; i++) expect((await apiCall(web.url, `/api/executions/${executionId}/status`, { token })).status).toBe(200);

    const controller = new AbortController();
    const stream = readSse(`${web.url}/api/executions/${executionId}/stream`, { authorization: `Bearer ${token}` }, {
      signal: controller.signal,
      stopAfter: (events) => events.some((e) => e.type === 'execution-completed'),
    });
    // Task a holds its slot until released: one in progress, b pending; the stream is open.
    await vi.waitFor(
      async () => {
        const m = await scrape();
        expect(m.value('strata_stream_subscribers', { transport: 'sse' })).toBe(1);
        expect(m.value('strata_tasks_in_progress', { agent_type: 'content' })).toBe(1);
      },
      { timeout: 30_000, interval: 100 },
    );
    const during = await scrape();
    expect(during.value('strata_executions_started_total')).toBe(1);
    expect(during.value('strata_http_requests_total', { method: 'POST', route: '/api/executions/start', status: '200' })).toBe(1);
    expect(during.value('strata_http_requests_total', { method: 'GET', route: '/api/executions/:id/status', status: '200' })).toBe(3);
    // Dashboard pages by the SvelteKit route that served them; a path no route serves is `page`.
    for (const path of ['/login', '/login', `/app/w/${workspaceId}`, '/no/such/page']) await (await fetch(`${web.url}${path}`, { redirect: 'manual' })).arrayBuffer();
    const pages = await scrape();
    expect(pages.value('strata_http_requests_total', { method: 'GET', route: '/login', status: '200' })).toBe(2);
    expect(pages.value('strata_http_requests_total', { method: 'GET', route: '/app/w/[workspaceId]', status: '303' })).toBe(1);
    expect(pages.value('strata_http_requests_total', { method: 'GET', route: 'page', status: '404' })).toBe(1);
    // The raw path never becomes a label value.
    expect(during.families.get('strata_http_requests_total')?.metrics.some((m) => m.labels?.route?.includes(executionId))).toBe(false);

    gates.gate('a').resolve();
    gates.gate('b').resolve();
    const { events } = await stream;
    expect(events.at(-1)?.type).toBe('execution-completed');
    await vi.waitFor(async () => expect((await scrape()).value('strata_stream_subscribers', { transport: 'sse' })).toBe(0), { timeout: 30_000, interval: 100 });
    const after = await scrape();
    expect(after.value('strata_tasks_in_progress', { agent_type: 'content' })).toBe(0);
    expect(after.value('strata_queue_jobs', { agent_type: 'content', state: 'ready' })).toBe(0);
    // The tasks ran on the worker, not here: the web process counts none of them.
    expect(after.value('strata_tasks_finished_total', { agent_type: 'content', outcome: 'completed' })).toBe(0);
    expect([...after.families.keys()].some((name) => name.startsWith('strata_process_cpu'))).toBe(true);
    expect(after.families.has('strata_nodejs_eventloop_lag_seconds')).toBe(true);
  });
});
