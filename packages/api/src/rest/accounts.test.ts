import { DEFAULT_LOGIN_THROTTLE } from '@strata/auth';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../context.ts';
import { appRouter } from '../root.ts';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/**
 * Accounts over HTTP (finding 7): the login throttle on REST and tRPC alike (and across them),
 * the password policy on sign-up, and changing a password.
 */
const MINUTE = 60_000;
const PASSWORD = 'correct horse battery';
let h: ApiHarness;
let clock = new Date('2030-01-01T12:00:00Z');
let userCount = 0;

/** Calls tRPC the way the web app serves it: a real fetch Request through the fetch adapter, optionally batched. */
async function trpc(calls: { path: string; input: unknown }[], clientAddress: string | null = null) {
  const body = Object.fromEntries(calls.map((call, i) => [String(i), { json: call.input }]));
  const request = new Request(`http://strata.test/api/trpc/${calls.map((c) => c.path).join(',')}?batch=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  let headers = new Headers();
  const response = await fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: async () => {
      const ctx = await createContext(h.deps, request.headers, { clientAddress });
      headers = ctx.responseHeaders;
      return ctx;
    },
    responseMeta: () => ({ headers }),
  });
  const results = (await response.json()) as { result?: unknown; error?: { json: { message: string; data: { httpStatus: number } } } }[];
  return { response, results: results.map((r) => (r.error ? { status: r.error.json.data.httpStatus, message: r.error.json.message } : { status: 200, message: null })) };
}

async function newUser() {
  userCount += 1;
  const email = `user-${userCount}@example.com`;
  return { email, ...(await h.signup(email, PASSWORD)) };
}

const login = (email: string, password: string, clientAddress?: string) => h.call('POST', '/api/auth/login', { body: { email, password }, ...(clientAddress ? { clientAddress } : {}) });

beforeAll(async () => {
  h = await createApiHarness({ loginThrottle: { now: () => clock } });
});
afterAll(async () => {
  await h?.close();
});

describe('login throttling', () => {
  it('REST: 10 wrong passwords, then the right one answers 429 with Retry-After until the window passes', async () => {
    const user = await newUser();
    const start = clock.getTime();
    for (let i = 0; i < 10; i++) {
      clock = new Date(start + i * MINUTE);
      expect(await login(user.email, `wrong ${i}`)).toMatchObject({ status: 401, body: { error: 'Invalid email or password' } });
    }
    const refused = await login(user.email, PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'Too many failed logins; try again later' });
    expect(refused.headers.get('retry-after')).toBe(String(6 * 60));
    expect(refused.headers.get('set-cookie')).toBeNull();

    clock = new Date(start + 15 * MINUTE);
    const allowed = await login(user.email, PASSWORD);
    expect(allowed.status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: allowed.body.token })).status).toBe(200);
  });

  it('counts REST and tRPC failures together, and a tRPC batch call by call', async () => {
    const user = await newUser();
    for (let i = 0; i < 4; i++) expect((await login(user.email, `rest guess ${i}`)).status).toBe(401);
    // One request carrying eight guesses: six are checked (401), the rest refused (429).
    const batch = await trpc(Array.from({ length: 8 }, (_, i) => ({ path: 'auth.login', input: { email: user.email, password: `batch guess ${i}` } })));
    const statuses = batch.results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    expect(batch.response.headers.get('retry-after')).toMatch(/^\d+$/);
    // Racing guesses may be refused conservatively (fewer than 10 checked); guess on until locked.
    let checked = 4 + statuses.filter((s) => s === 401).length;
    while ((await login(user.email, 'one more guess')).status === 401) checked += 1;
    expect(checked).toBe(10);
    // Whichever surface comes next, the account is locked, also for the right password.
    const viaTrpc = await trpc([{ path: 'auth.login', input: { email: user.email, password: PASSWORD } }]);
    expect(viaTrpc.results[0]).toEqual({ status: 429, message: 'Too many failed logins; try again later' });
    expect((await login(user.email, PASSWORD)).status).toBe(429);
  });

  it('limits one client address across many accounts, not other addresses', async () => {
    const victim = await newUser();
    const sprayer = '203.0.113.9';
    for (let i = 0; i < DEFAULT_LOGIN_THROTTLE.clientLimit; i++) expect((await login(`sprayed-${i}@example.com`, 'password', sprayer)).status).toBe(401);
    const refused = await login(victim.email, PASSWORD, sprayer);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await trpc([{ path: 'auth.login', input: { email: victim.email, password: PASSWORD } }], sprayer)).results[0]!.status).toBe(429);
    expect((await login(victim.email, PASSWORD, '198.51.100.2')).status).toBe(200);
  });
});

describe('the password policy on sign-up', () => {
  it.each([
    ['12345678', 'password: this password is too common'],
    [' '.repeat(8), 'password: must not be blank'],
    ['short', 'password: must be at least 8 characters'],
    ['x'.repeat(257), 'password: Too big: expected string to have <=256 characters'],
  ])('refuses %j with 400 saying why', async (password, error) => {
    const res = await h.call('POST', '/api/auth/signup', { body: { email: 'weak@example.com', password } });
    expect(res).toMatchObject({ status: 400, body: { error } });
  });

  it('refuses a common password through tRPC too', async () => {
    const res = await trpc([{ path: 'auth.signup', input: { email: 'weak-trpc@example.com', password: 'iloveyou' } }]);
    expect(res.results[0]).toEqual({ status: 400, message: 'password: this password is too common' });
  });
});

describe('POST /api/auth/password', () => {
  it('changes the password, keeps the calling session and ends the others', async () => {
    const user = await newUser();
    const other = (await login(user.email, PASSWORD)).body.token;
    const res = await h.call('POST', '/api/auth/password', { token: user.token, body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase' } });
    expect(res).toMatchObject({ status: 200, body: { success: true } });
    expect((await h.call('GET', '/api/me', { token: user.token })).status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: other })).status).toBe(401);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, 'a fresh passphrase')).status).toBe(200);
  });

  it('through the session cookie too', async () => {
    const user = await newUser();
    const res = await h.call('POST', '/api/auth/password', { headers: { cookie: `strata_session=${user.token}` }, body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase' } });
    expect(res.status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: user.token })).status).toBe(200);
  });

  it('with an API token ends every session', async () => {
    const user = await newUser();
    const apiToken = (await h.call('POST', '/api/tokens', { token: user.token, body: { name: 'cli' } })).body.token;
    expect((await h.call('POST', '/api/auth/password', { token: apiToken, body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase' } })).status).toBe(200);
    expect((await h.call('GET', '/api/me', { token: user.token })).status).toBe(401);
    expect((await h.call('GET', '/api/me', { token: apiToken })).status).toBe(200);
  });

  it('refuses a wrong current password (403, counted by the throttle), a weak new one (400) and no credentials (401)', async () => {
    const user = await newUser();
    const other = (await login(user.email, PASSWORD)).body.token;
    const wrong = await h.call('POST', '/api/auth/password', { token: user.token, body: { currentPassword: 'not it', newPassword: 'a fresh passphrase' } });
    expect(wrong).toMatchObject({ status: 403, body: { error: 'Current password is incorrect' } });
    const weak = await h.call('POST', '/api/auth/password', { token: user.token, body: { currentPassword: PASSWORD, newPassword: 'password' } });
    expect(weak).toMatchObject({ status: 400, body: { error: 'newPassword: this password is too common' } });
    expect(await h.call('POST', '/api/auth/password', { token: user.token, body: {} })).toMatchObject({ status: 400, body: { error: 'Missing fields: currentPassword, newPassword' } });
    expect((await h.call('POST', '/api/auth/password', { body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase' } })).status).toBe(401);
    // Nothing changed: the other session lives, the old password works.
    expect((await h.call('GET', '/api/me', { token: other })).status).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(200);

    for (let i = 0; i < 10; i++) await h.call('POST', '/api/auth/password', { token: user.token, body: { currentPassword: `guess ${i}`, newPassword: 'a fresh passphrase' } });
    const locked = await h.call('POST', '/api/auth/password', { token: user.token, body: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase' } });
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('GET /api/tokens?workspaceId=', () => {
  it("lists only the caller's tokens bound to that workspace, with lastUsedAt once used; refuses a workspace it is not in", async () => {
    const user = await newUser();
    const stranger = await newUser();
    const ws = (await h.call('POST', '/api/workspaces', { token: user.token, body: { name: 'Tokens' } })).body.workspace.id as string;
    const bound = (await h.call('POST', '/api/tokens', { token: user.token, body: { name: 'bound', workspaceId: ws } })).body;
    await h.call('POST', '/api/tokens', { token: user.token, body: { name: 'personal' } });
    const listed = await h.call('GET', `/api/tokens?workspaceId=${ws}`, { token: user.token });
    expect(listed.status).toBe(200);
    expect(listed.body.tokens.map((t: { name: string }) => t.name)).toEqual(['bound']);
    expect(listed.body.tokens[0]).toMatchObject({ id: bound.id, lastUsedAt: null, workspaceId: ws });
    expect(JSON.stringify(listed.body)).not.toContain(bound.token);
    expect((await h.call('GET', '/api/me', { token: bound.token })).status).toBe(200);
    const used = await h.call('GET', `/api/tokens?workspaceId=${ws}`, { token: user.token });
    expect(Date.parse(used.body.tokens[0].lastUsedAt)).not.toBeNaN();
    expect((await h.call('GET', '/api/tokens', { token: user.token })).body.tokens).toHaveLength(2);
    expect(await h.call('GET', `/api/tokens?workspaceId=${ws}`, { token: stranger.token })).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect((await h.call('GET', `/api/tokens?workspaceId=${'x'.repeat(300)}`, { token: user.token })).status).toBe(400);
  });
});
