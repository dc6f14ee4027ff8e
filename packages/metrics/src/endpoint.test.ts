import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMetrics, scrapeAllowed } from './endpoint.ts';
import { observeHttpRequest } from './http-requests.ts';
import { createMetrics } from './registry.ts';
import { parseScrape } from './test-scrape.ts';

const metrics = createMetrics();
let server: Server;
let url: string;

beforeAll(async () => {
  // A server as the web's: every request counted under a route template, /metrics served.
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    observeHttpRequest(metrics, req, res, /^\/api\/executions\/[^/]+$/.test(path) ? '/api/executions/:id' : path === '/metrics' ? '/metrics' : 'unmatched');
    if (serveMetrics(req, res, { metrics, token: 's3cret-token' })) return;
    res.writeHead(path.startsWith('/api/executions/') ? 200 : 404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('GET /metrics with METRICS_TOKEN', () => {
  it('answers 401 without the token or with a wrong one', async () => {
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer s3cret-token-and-more', 'Basic s3cret-token', 's3cret-token']) {
      const response = await fetch(`${url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'Unauthorized' });
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    }
  });

  it('answers 200 with the Prometheus text format with the token, HTTP requests labelled by route template', async () => {
    for (const id of ['exec_1_a', 'exec_2_b', 'exec_3_c']) expect((await fetch(`${url}/api/executions/${id}`)).status).toBe(200);
    expect((await fetch(`${url}/nowhere/${Math.random()}`)).status).toBe(404);
    const response = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret-token' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const scrape = parseScrape(await response.text());
    expect(scrape.value('strata_http_requests_total', { method: 'GET', route: '/api/executions/:id', status: '200' })).toBe(3);
    expect(scrape.value('strata_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    // The raw paths never become label values.
    const routes = new Set(scrape.families.get('strata_http_requests_total')!.metrics.map((m) => m.labels?.route));
    expect([...routes].sort()).toEqual(['/api/executions/:id', '/metrics', 'unmatched']);
    // Default process metrics and the event loop's lag, under the strata_ prefix.
    expect(scrape.families.has('strata_process_cpu_user_seconds_total')).toBe(true);
    expect(scrape.families.has('strata_nodejs_eventloop_lag_seconds')).toBe(true);
    for (const name of ['strata_executions_started_total', 'strata_tasks_finished_total', 'strata_stream_subscribers', 'strata_rate_limit_refusals_total', 'strata_queue_jobs']) {
      expect(scrape.families.has(name)).toBe(true);
    }
  });

  it('refuses other methods and leaves other paths to the caller', async () => {
    expect((await fetch(`${url}/metrics`, { method: 'POST', headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(405);
  });
});

describe('scrapeAllowed', () => {
  it('lets every scrape in when no token is set', () => {
    expect(scrapeAllowed(undefined, undefined)).toBe(true);
    expect(scrapeAllowed('Bearer x', undefined)).toBe(true);
  });
  it('needs exactly the token as a Bearer credential when one is set', () => {
    expect(scrapeAllowed('Bearer abc', 'abc')).toBe(true);
    expect(scrapeAllowed('bearer abc', 'abc')).toBe(true);
    expect(scrapeAllowed('Bearer ab', 'abc')).toBe(false);
    expect(scrapeAllowed('Bearer ', 'abc')).toBe(false);
    expect(scrapeAllowed(undefined, 'abc')).toBe(false);
  });
});
