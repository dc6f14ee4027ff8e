import { createStrataClient } from '@strata/client';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPartialBody } from './raw-http.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * One input policy for REST and tRPC, through the real web server: the same 1 MiB body limit
 * (413, judged as the body streams in), at most 10 calls per tRPC batch, the same strategy
 * limits with the same 400 message on both surfaces.
 */

const MiB = 1024 * 1024;
const PASSWORD = 'long enough password';

let test: TestDatabase;
let web: RunningWeb;
let token: string;
let workspaceId: string;

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
type Json = any;

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${web.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** A tRPC mutation over HTTP as the client sends it (superjson: `{ json: input }`). */
async function mutate(path: string, input: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const response = await fetch(`${web.url}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ json: input }) });
  return { status: response.status, body: (await response.json()) as Json };
}

const strategyRows = async () => (await test.sql`select count(*)::int as n from strategies`)[0]?.n as number;

beforeAll(async () => {
  test = await createTestDatabase();
  web = await startWeb({ DATABASE_URL: test.url });
  const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'policy@example.com', password: PASSWORD }) });
  token = ((await signup.json()) as Json).token;
  workspaceId = (await rest('POST', '/api/workspaces', { name: 'Policy' })).body.workspace.id;
});
afterAll(async () => {
  await web?.stop();
  await test?.drop();
});

describe('the body limit on tRPC', () => {
  const loginHead = (framing: string) =>
    `POST /api/trpc/auth.login HTTP/1.1\r\nHost: ${new URL(web.url).host}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;

  it('refuses an unauthenticated 60 MB login by its Content-Length with 413, without reading it', async () => {
    // Only 64 KiB of the announced 60 MB is ever sent: the answer must come without the rest.
    const answer = await rawPartialBody(web.url, loginHead(`Content-Length: ${60 * 1000 * 1000}`), (write) => write(`{"json":{"email":"a@example.com","password":"${'x'.repeat(64 * 1024)}`));
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { json: { message: 'Request body too large (limit 1 MiB)', data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 } } } });
  });

  it('refuses a chunked body as soon as its bytes pass 1 MiB', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const answer = await rawPartialBody(web.url, loginHead('Transfer-Encoding: chunked'), (write) => {
      const start = '{"json":{"a":"';
      write(`${start.length.toString(16)}\r\n${start}\r\n`);
      // 1 MiB + 64 KiB, and the final chunk never comes.
      for (let sent = 0; sent <= MiB; sent += chunk.length) write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.json.data.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a 20,000-item strategy on tRPC as REST does (413), writing nothing', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, description: 'Do the thing', agentType: 'coordination' }));
    const body = { workspaceId, name: 'Huge', items };
    expect(JSON.stringify(body).length).toBeGreaterThan(MiB);
    const before = await strategyRows();
    const viaRest = await rest('POST', '/api/strategies', body);
    expect(viaRest).toEqual({ status: 413, body: { error: 'Request body too large (limit 1 MiB)' } });
    const viaTrpc = await mutate('strategies.create', body);
    expect(viaTrpc.status).toBe(413);
    expect(viaTrpc.body.error.json.message).toBe('Request body too large (limit 1 MiB)');
    expect(await strategyRows()).toBe(before);
  });

  it('takes a body under the limit and judges its content', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, description: 'Do the thing', agentType: 'coordination' }));
    const created = await mutate('strategies.create', { workspaceId, name: 'Big but fine', items });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(200);
    expect(created.body.result.data.json.strategy.items).toHaveLength(5000);
  });
});

describe('tRPC batches', () => {
  const batchPath = (procedure: string, calls: number) => Array.from({ length: calls }, () => procedure).join(',');
  const batchInput = (calls: number, input: unknown) => Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, { json: input }]));

  it('refuses a POST batch of 11 login guesses with 400, trying none of them', async () => {
    const sessions = async () => (await test.sql`select count(*)::int as n from sessions`)[0]?.n as number;
    const before = await sessions();
    const response = await fetch(`${web.url}/api/trpc/${batchPath('auth.login', 11)}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batchInput(11, { email: 'policy@example.com', password: PASSWORD })),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Json[];
    expect(body).toHaveLength(11);
    for (const call of body) expect(call.error.json).toMatchObject({ message: 'Too many calls in one batch: 11 (the limit is 10)', data: { code: 'BAD_REQUEST', httpStatus: 400 } });
    // The right password was in every call, yet no session was opened.
    expect(await sessions()).toBe(before);
  });

  it('refuses a GET batch of 11 queries with 400 and answers a batch of 10', async () => {
    const get = (calls: number) =>
      fetch(`${web.url}/api/trpc/${batchPath('auth.me', calls)}?batch=1&input=${encodeURIComponent(JSON.stringify(batchInput(calls, undefined)))}`, { headers: { authorization: `Bearer ${token}` } });
    const refused = await get(11);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Json[])[0].error.json.message).toBe('Too many calls in one batch: 11 (the limit is 10)');
    const answered = await get(10);
    expect(answered.status).toBe(200);
    const body = (await answered.json()) as Json[];
    expect(body).toHaveLength(10);
    expect(body.every((call) => call.result.data.json.user.email === 'policy@example.com')).toBe(true);
  });

  it('the typed client splits 25 concurrent calls into batches the server takes', async () => {
    const client = createStrataClient({ baseUrl: web.url, token });
    const answers = await Promise.all(Array.from({ length: 25 }, () => client.auth.me.query()));
    expect(answers.every((me) => me.user.email === 'policy@example.com')).toBe(true);
  });

  it('counts calls however the commas are spelled', async () => {
    const path = Array.from({ length: 11 }, () => 'auth.me').join('%2C');
    const response = await fetch(`${web.url}/api/trpc/${path}?batch=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(400);
  });
});

describe('strategy limits, the same on REST and tRPC', () => {
  const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: `Do ${key}`, agentType: 'coordination', ...extra });
  const cases: [string, () => unknown[], string][] = [
    ['10,001 items', () => Array.from({ length: 10_001 }, (_, i) => ({ key: `k${i}`, description: 'd', agentType: 'coordination' })), 'items: at most 10000 items per strategy'],
    ['an input over 64 KiB', () => [item('a', { input: { text: 'x'.repeat(64 * 1024) } })], 'items[0].input: at most 65536 bytes of JSON'],
    ['an input nested 65 deep', () => [item('a', { input: { x: JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`) } })], 'items[0].input: nested deeper than 64 levels'],
    ['1,001 dependencies', () => [item('a'), item('b', { dependsOn: Array.from({ length: 1001 }, () => 'a') })], 'items[1].dependsOn: at most 1000 dependencies'],
    ['a 101-character dependency', () => [item('a', { dependsOn: ['d'.repeat(101)] })], 'items[0].dependsOn[0]: at most 100 characters'],
    ['a 101-character key', () => [item('k'.repeat(101))], 'items[0].key: at most 100 characters'],
    ['a 2,001-character description', () => [item('a', { description: 'd'.repeat(2001) })], 'items[0].description: at most 2000 characters'],
    ['a 65-character agent type', () => [item('a', { agentType: 'a'.repeat(65) })], 'items[0].agentType: at most 64 characters'],
  ];

  it.each(cases)('%s: 400 with the same message and field on both, nothing written', async (_, items, message) => {
    const body = { workspaceId, name: 'Over a limit', items: items() };
    expect(JSON.stringify(body).length).toBeLessThan(MiB);
    const before = await strategyRows();
    // The field the message names, for a form to show it beside that field.
    const field = message.slice(0, message.indexOf(':'));
    const viaRest = await rest('POST', '/api/strategies', body);
    expect(viaRest).toEqual({ status: 400, body: { error: message, field } });
    const viaTrpc = await mutate('strategies.create', body);
    expect(viaTrpc.status).toBe(400);
    expect(viaTrpc.body.error.json.message).toBe(message);
    expect(viaTrpc.body.error.json.data.field).toBe(field);
    expect(await strategyRows()).toBe(before);
  });

  it('takes a strategy at every limit', async () => {
    const items = [
      item('k'.repeat(100), { description: 'd'.repeat(2000), input: { text: 'x'.repeat(60 * 1024) } }),
      ...Array.from({ length: 999 }, (_, i) => item(`n${i}`, { dependsOn: ['k'.repeat(100)] })),
    ];
    const created = await rest('POST', '/api/strategies', { workspaceId, name: 'At the limits', items });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(201);
  });
});
