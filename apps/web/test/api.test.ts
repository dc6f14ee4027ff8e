import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStrataClient, StrataRestClient } from '@strata/client';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from './server.ts';

let test: TestDatabase;
let webA: RunningWeb;
let webB: RunningWeb;
let token: string;
let workspaceId: string;
let strategyId: string;

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

beforeAll(async () => {
  test = await createTestDatabase();
  const env = { DATABASE_URL: test.url, RATE_LIMIT_START_PER_MIN: '5' };
  [webA, webB] = await Promise.all([startWeb(env), startWeb(env)]);
  const signup = await post(webA.url, '/api/auth/signup', { email: 'integrator@example.com', password: 'long enough password' });
  token = signup.body.token;
  workspaceId = (await post(webA.url, '/api/workspaces', { name: 'Integrations' })).body.workspace.id;
  strategyId = (await post(webB.url, '/api/strategies', { workspaceId, name: 'One step', items: [{ key: 'a', description: 'A', agentType: 'analysis', input: { fields: ['x'] } }] })).body.strategy.id;
});
afterAll(async () => {
  await Promise.all([webA?.stop(), webB?.stop()]);
  await test?.drop();
});

describe('rate limits shared by every web process', () => {
  it('refuses the 6th start in a minute whichever process gets it', async () => {
    // Keep the six requests inside one fixed minute window.
    const second = new Date().getUTCSeconds();
    if (second > 45) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(i % 2 ? webB.url : webA.url, '/api/executions/start', { strategyId, workspaceId }));
    expect(results.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results[4]!.headers.get('ratelimit-remaining')).toBe('0');
    const refused = results[5]!;
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'Rate limit exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-limit')).toBe('5');
    // A refused request is not counted and another workspace has its own budget.
    const other = (await post(webB.url, '/api/workspaces', { name: 'Other' })).body.workspace.id;
    const otherStrategy = (await post(webB.url, '/api/strategies', { workspaceId: other, name: 'x', items: [] })).body.strategy.id;
    expect((await post(webA.url, '/api/executions/start', { strategyId: otherStrategy, workspaceId: other })).status).toBe(200);
  });
});

describe('the REST client against a real server', () => {
  it('retries a lost response with the same Idempotency-Key and starts once', async () => {
    // A proxy that forwards the first start to Strata but loses the answer (502).
    let starts = 0;
    const target = new URL(webA.url);
    const proxy: Server = createServer((req, res) => {
      const lose = req.url === '/api/executions/start' && ++starts === 1;
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        if (lose) {
          up.resume();
          up.on('end', () => res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"Bad gateway"}'));
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const other = (await post(webB.url, '/api/workspaces', { name: 'Idempotent' })).body.workspace.id;
      const strategy = (await post(webB.url, '/api/strategies', { workspaceId: other, name: 'once', items: [] })).body.strategy.id;
      const client = new StrataRestClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token, backoffMs: 50 });
      const result = await client.startExecution({ strategyId: strategy, workspaceId: other });
      expect(starts).toBe(2);
      const [row] = await test.sql`select count(*)::int as n, min(id) as id from executions where strategy_id = ${strategy}`;
      expect(row?.n).toBe(1);
      expect(result.executionId).toBe(row?.id);
      const status = await client.getStatus(result.executionId);
      expect(status.execution.id).toBe(result.executionId);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe("strategy items checked against their agent's input schema", () => {
  it('refuses a bad item before anything runs, naming it', async () => {
    const before = await test.sql`select count(*)::int as n from strategies`;
    const bad = await post(webA.url, '/api/strategies', {
      workspaceId,
      name: 'bad input',
      items: [
        { key: 'ok', description: 'Fine', agentType: 'analysis', input: { fields: ['x'] } },
        { key: 'fetch', description: 'No URLs', agentType: 'research', input: { urls: [] } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^Item "fetch": input urls/);
    const email = await post(webA.url, '/api/strategies', { workspaceId, name: 'bad mail', items: [{ key: 'mail', description: 'Mail', agentType: 'email', input: { to: 'not-an-address', subject: 'x', body: 'y' } }] });
    expect(email.status).toBe(400);
    expect(email.body.error).toMatch(/^Item "mail": input to/);
    const after = await test.sql`select count(*)::int as n from strategies`;
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});

describe('bodiless control calls, as in the seed', () => {
  it('accepts POST /api/executions/:id/pause with no body and no content type', async () => {
    const other = (await post(webB.url, '/api/workspaces', { name: 'Bodiless' })).body.workspace.id;
    const strategy = (await post(webB.url, '/api/strategies', { workspaceId: other, name: 'b', items: [{ key: 'a', description: 'A', agentType: 'analysis', input: { fields: ['x'] } }] })).body.strategy.id;
    const started = await post(webA.url, '/api/executions/start', { strategyId: strategy, workspaceId: other });
    const response = await fetch(`${webA.url}/api/executions/${started.body.executionId}/pause`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, message: 'Execution paused', execution: { status: 'paused' } });
  });
});

describe('the typed tRPC client', () => {
  it('calls procedures with types and the same errors as codes', async () => {
    const client = createStrataClient({ baseUrl: webB.url, token });
    const me = await client.auth.me.query();
    expect(me.user.email).toBe('integrator@example.com');
    expect(me.workspaces.map((w) => w.role)).toContain('owner');
    const strategy = await client.strategies.get.query({ id: strategyId });
    expect(strategy.strategy.createdAt).toBeInstanceOf(Date);
    const error = await client.executions.status.query({ id: 'exec_0_missing' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'Execution not found', data: { code: 'NOT_FOUND', httpStatus: 404 } });
    const anonymous = createStrataClient({ baseUrl: webB.url });
    await expect(anonymous.auth.me.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });
});
