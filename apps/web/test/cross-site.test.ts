import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPartialBody } from './raw-http.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Cross-site request forgery through the real web server. Cookie-authenticated state changes
 * must come from the app's own origin, on REST, tRPC and pages alike; requests that carry
 * their own credential (Authorization) are not ambient and are not judged. No worker runs, so
 * a started execution stays running until someone pauses it.
 */

const EVIL = 'https://evil.example';

let test: TestDatabase;
let web: RunningWeb;
let token: string;
let workspaceId: string;
let strategyId: string;

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
type Json = any;

const bearer = () => ({ authorization: `Bearer ${token}` });
const cookie = () => ({ cookie: `strata_session=${token}` });

async function call(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(`${web.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json };
}

async function startExecution(): Promise<string> {
  const started = await call('POST', '/api/executions/start', { ...bearer(), 'content-type': 'application/json' }, JSON.stringify({ strategyId, workspaceId }));
  expect(started.status).toBe(200);
  return started.body.executionId;
}

const statusOf = async (id: string) => (await test.sql`select status from executions where id = ${id}`)[0]?.status as string;

beforeAll(async () => {
  test = await createTestDatabase();
  // Generous rate limits: this file makes many control calls in a minute.
  web = await startWeb({ DATABASE_URL: test.url, RATE_LIMIT_START_PER_MIN: '1000', RATE_LIMIT_CONTROL_PER_MIN: '1000', RATE_LIMIT_STATUS_PER_MIN: '1000' });
  const json = { 'content-type': 'application/json' };
  token = (await call('POST', '/api/auth/signup', json, JSON.stringify({ email: 'csrf@example.com', password: 'long enough password' }))).body.token;
  workspaceId = (await call('POST', '/api/workspaces', { ...bearer(), ...json }, JSON.stringify({ name: 'CSRF' }))).body.workspace.id;
  const items = [{ key: 'a', description: 'Wait', agentType: 'coordination' }];
  strategyId = (await call('POST', '/api/strategies', { ...bearer(), ...json }, JSON.stringify({ workspaceId, name: 'Plan', items }))).body.strategy.id;
});
afterAll(async () => {
  await web?.stop();
  await test?.drop();
});

describe('cookie-authenticated requests from another site are refused', () => {
  it.each([
    ['Origin', { origin: EVIL }, 'Cross-site request refused (Origin does not match)'],
    ['Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site' }, 'Cross-site request refused (Sec-Fetch-Site: cross-site)'],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }, 'Cross-site request refused (Sec-Fetch-Site: same-site)'],
  ])('REST pause with a cross-site %s: 403, the execution not paused', async (_, headers, error) => {
    const id = await startExecution();
    // The reproduction: a bodiless POST, as a form or fetch from evil.example sends it.
    const refused = await call('POST', `/api/executions/${id}/pause`, { ...cookie(), ...headers });
    expect(refused).toEqual({ status: 403, body: { error } });
    expect(await statusOf(id)).toBe('running');
  });

  it('REST with a form body from another site: 403 (SvelteKit no longer judges it; we do)', async () => {
    const id = await startExecution();
    const refused = await call('POST', `/api/executions/${id}/pause`, { ...cookie(), origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
    expect(refused.status).toBe(403);
    expect(await statusOf(id)).toBe('running');
  });

  it.each([
    ['Origin', { origin: EVIL }],
    ['Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site' }],
  ])('a tRPC mutation with a cross-site %s: 403 FORBIDDEN, the execution not paused', async (_, headers) => {
    const id = await startExecution();
    const refused = await call('POST', '/api/trpc/executions.pause', { ...cookie(), ...headers, 'content-type': 'application/json' }, JSON.stringify({ json: { id } }));
    expect(refused.status).toBe(403);
    expect(refused.body.error.json).toMatchObject({ message: expect.stringMatching(/^Cross-site request refused/), data: { code: 'FORBIDDEN', httpStatus: 403 } });
    // A batch gets the same refusal for each call.
    const batch = await call('POST', '/api/trpc/executions.pause,executions.cancel?batch=1', { ...cookie(), ...headers, 'content-type': 'application/json' }, JSON.stringify({ 0: { json: { id } }, 1: { json: { id } } }));
    expect(batch.status).toBe(403);
    expect(batch.body.map((c: Json) => c.error.json.data.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(await statusOf(id)).toBe('running');
  });

  it('logout from another site is refused too (any state change, not only executions)', async () => {
    const refused = await call('POST', '/api/auth/logout', { ...cookie(), origin: EVIL });
    expect(refused.status).toBe(403);
    expect((await call('GET', '/api/me', cookie())).status).toBe(200);
  });

  it('a POST to a page (where form actions live) from another site: 403', async () => {
    const refused = await call('POST', '/login', { ...cookie(), origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, 'email=a');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/^Cross-site request refused/);
  });

  it('reading stays open to any origin: GET is not a state change', async () => {
    expect((await call('GET', '/api/me', { ...cookie(), origin: EVIL, 'sec-fetch-site': 'cross-site' })).status).toBe(200);
  });
});

describe('requests that are not cross-site forgeries still work', () => {
  it("a same-origin cookie POST (the dashboard's own fetch) pauses", async () => {
    const id = await startExecution();
    const byOrigin = await call('POST', `/api/executions/${id}/pause`, { ...cookie(), origin: web.url, 'content-type': 'application/json' }, '{}');
    expect(byOrigin.status).toBe(200);
    expect(await statusOf(id)).toBe('paused');
    const byFetchSite = await call('POST', `/api/executions/${id}/resume`, { ...cookie(), origin: web.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, '{}');
    expect(byFetchSite.status).toBe(200);
    const viaTrpc = await call('POST', '/api/trpc/executions.pause', { ...cookie(), 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, JSON.stringify({ json: { id } }));
    expect(viaTrpc.status).toBe(200);
    expect(await statusOf(id)).toBe('paused');
  });

  it('a Bearer POST with a foreign Origin pauses: the credential is not ambient', async () => {
    const id = await startExecution();
    const paused = await call('POST', `/api/executions/${id}/pause`, { ...bearer(), origin: EVIL, 'sec-fetch-site': 'cross-site' });
    expect(paused.status).toBe(200);
    const viaTrpc = await call('POST', '/api/trpc/executions.resume', { ...bearer(), origin: EVIL, 'content-type': 'application/json' }, JSON.stringify({ json: { id } }));
    expect(viaTrpc.status).toBe(200);
    expect(await statusOf(id)).toBe('running');
  });

  it("the seed's bodiless `curl -X POST .../pause` with a Bearer token pauses", async () => {
    const id = await startExecution();
    // Byte for byte what curl sends: no Content-Type, no Content-Length, no Origin.
    const head = `POST /api/executions/${id}/pause HTTP/1.1\r\nHost: ${new URL(web.url).host}\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
    const answer = await rawPartialBody(web.url, head, () => {});
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ success: true, message: 'Execution paused', execution: { id, status: 'paused' } });
  });

  it('a bodiless cookie POST without Origin or Sec-Fetch-Site (not from a browser page) is not refused', async () => {
    const id = await startExecution();
    expect((await call('POST', `/api/executions/${id}/pause`, cookie())).status).toBe(200);
  });
});
