import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Nothing leaks, through the real web server, in production mode (NODE_ENV unset, as
 * `pnpm start:web` on a fresh clone) and in development mode: error bodies carry the message
 * meant for the caller, stacks only in development, never SQL or its parameters; bad cursors
 * are 400 and a bad `next=` falls back.
 */

let test: TestDatabase;
let prod: RunningWeb;
let dev: RunningWeb;
let token: string;
let workspaceId: string;

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
type Json = any;

/** The two modes, named for test titles; the server is looked up when the test runs. */
const MODES = [
  ['production (NODE_ENV unset)', false],
  ['development', true],
] as const;
const server = (isDev: boolean) => (isDev ? dev : prod);

async function rest(web: RunningWeb, method: string, path: string, body?: unknown) {
  const response = await fetch(`${web.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Json };
}

async function query(web: RunningWeb, path: string, input: unknown, headers: Record<string, string> = { authorization: `Bearer ${token}` }) {
  const response = await fetch(`${web.url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers });
  const text = await response.text();
  return { status: response.status, text, error: (JSON.parse(text) as Json).error?.json, body: JSON.parse(text) as Json };
}

const cursor = (text: string) => Buffer.from(text).toString('base64url');

beforeAll(async () => {
  test = await createTestDatabase();
  [prod, dev] = await Promise.all([startWeb({ DATABASE_URL: test.url, NODE_ENV: undefined }), startWeb({ DATABASE_URL: test.url, NODE_ENV: 'development' })]);
  const signup = await fetch(`${prod.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'leaks@example.com', password: 'long enough password' }) });
  token = ((await signup.json()) as Json).token;
  workspaceId = (await rest(prod, 'POST', '/api/workspaces', { name: 'Leaks' })).body.workspace.id;
  const strategyId = (await rest(prod, 'POST', '/api/strategies', { workspaceId, name: 'Plan', items: [] })).body.strategy.id;
  for (let i = 0; i < 3; i++) expect((await rest(prod, 'POST', '/api/executions/start', { strategyId, workspaceId })).status).toBe(200);
});
afterAll(async () => {
  await Promise.all([prod?.stop(), dev?.stop()]);
  await test?.drop();
});

describe('stack traces', () => {
  it.each(MODES)('tRPC errors in %s carry a stack only in development', async (_, isDev) => {
    const web = server(isDev);
    const unauthorized = await query(web, 'auth.me', undefined, {});
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.error).toMatchObject({ message: 'Unauthorized', data: { code: 'UNAUTHORIZED', httpStatus: 401 } });
    const badInput = await query(web, 'executions.list', { workspaceId, limit: 'many' });
    expect(badInput.status).toBe(400);
    for (const error of [unauthorized.error, badInput.error]) {
      if (isDev) expect(error.data.stack).toEqual(expect.stringContaining('at '));
      else {
        expect(error.data).not.toHaveProperty('stack');
        expect(JSON.stringify(error)).not.toMatch(/\bat .*\.(ts|js):\d+/);
      }
    }
  });
});

describe('list cursors', () => {
  const crafted: [string, string][] = [
    ['year 0, which PostgreSQL cannot store', cursor('0000-01-01T00:00:00.000Z|exec_1')],
    ['the last date JavaScript knows', cursor('+275760-09-13T00:00:00.000Z|exec_1')],
    ['a NUL in the id', cursor('2026-01-01T00:00:00.000Z|exec_1\u0000')],
    ['no id', cursor('2026-01-01T00:00:00.000Z|')],
    ['not an execution id', cursor("2026-01-01T00:00:00.000Z|x' or '1'='1")],
    ['not base64url', 'not a cursor!'],
    ['a date not in the written form', cursor('Thu, 01 Jan 2026 00:00:00 GMT|exec_1')],
  ];

  it.each(crafted)('a cursor with %s answers 400 Invalid cursor on REST and tRPC, in both modes', async (_, value) => {
    for (const web of [prod, dev]) {
      const viaRest = await rest(web, 'GET', `/api/executions?workspaceId=${workspaceId}&cursor=${encodeURIComponent(value)}`);
      expect(viaRest.status).toBe(400);
      expect(viaRest.body).toEqual({ error: 'Invalid cursor' });
      const viaTrpc = await query(web, 'executions.list', { workspaceId, cursor: value });
      expect(viaTrpc.status).toBe(400);
      expect(viaTrpc.error.message).toBe('Invalid cursor');
      expect(viaTrpc.text).not.toMatch(/select|params|executions"\./i);
    }
  });

  it('a cursor the server wrote pages on', async () => {
    const first = await rest(prod, 'GET', `/api/executions?workspaceId=${workspaceId}&limit=2`);
    expect(first.body.executions).toHaveLength(2);
    const second = await rest(prod, 'GET', `/api/executions?workspaceId=${workspaceId}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.executions).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
  });
});

describe('server errors', () => {
  it.each(MODES)('a failed query answers only "Internal server error" in %s: no SQL, no parameters, no driver message', async (_, isDev) => {
    const web = server(isDev);
    // A real fault in PostgreSQL: the table the outbox reads is gone while the server runs.
    await test.sql`alter table email_outbox rename to email_outbox_away`;
    try {
      const viaTrpc = await query(web, 'outbox.list', { workspaceId });
      expect(viaTrpc.status).toBe(500);
      expect(viaTrpc.error).toMatchObject({ message: 'Internal server error', data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 } });
      const { stack, ...data } = viaTrpc.error.data;
      expect(JSON.stringify({ ...viaTrpc.error, data })).not.toMatch(/email_outbox|select|params|relation|ws_/i);
      if (isDev) expect(typeof stack).toBe('string');
      else expect(stack).toBeUndefined();
      const viaRest = await rest(web, 'GET', `/api/outbox?workspaceId=${workspaceId}`);
      expect(viaRest.status).toBe(500);
      expect(viaRest.body).toEqual({ error: 'Internal server error' });
    } finally {
      await test.sql`alter table email_outbox_away rename to email_outbox`;
    }
  });
});

describe('/login?next=', () => {
  const loggedIn = (next: string) => fetch(`${prod.url}/login?next=${encodeURIComponent(next)}`, { headers: { cookie: `strata_session=${token}` }, redirect: 'manual' });

  it.each([
    ['a tab', '/app\t'],
    ['a tab that browsers drop, leaving //evil.example', '/\t/evil.example'],
    ['a newline', '/app\n/x'],
    ['a non-ASCII character', '/app/wörkspace'],
    ['an emoji', '/app/🙂'],
    ['another origin', '//evil.example'],
    ['a backslash', '/\\evil.example'],
    ['an absolute URL', 'https://evil.example/app'],
    ['a relative path', 'app'],
    ['a javascript: URL', 'javascript:alert(1)'],
  ])('with %s falls back to /app for someone logged in', async (_, next) => {
    const response = await loggedIn(next);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/app');
  });

  it('goes on to a path of this site', async () => {
    const response = await loggedIn(`/app/w/${workspaceId}?tab=outbox`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/app/w/${workspaceId}?tab=outbox`);
  });

  it('shows the login page to a visitor, without carrying a bad next into its links', async () => {
    for (const next of ['/app\t', '/app/wörkspace', '//evil.example']) {
      const response = await fetch(`${prod.url}/login?next=${encodeURIComponent(next)}`);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('href="/signup"');
    }
    const good = await fetch(`${prod.url}/login?next=${encodeURIComponent('/app/w/ws_1')}`);
    expect(await good.text()).toContain(`href="/signup?next=${encodeURIComponent('/app/w/ws_1')}"`);
  });
});
