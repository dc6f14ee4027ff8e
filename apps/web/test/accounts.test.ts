import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Login throttling against real web processes (finding 7): the count lives in PostgreSQL, so it
 * holds whichever process a guess reaches and through REST and tRPC alike; the client address
 * is the socket's peer, or X-Forwarded-For only where TRUST_PROXY says the proxy is trusted.
 */
let test: TestDatabase;
let webA: RunningWeb;
let proxied: RunningWeb;
const PASSWORD = 'a throttled password';

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}
const login = (base: string, email: string, password: string, headers: Record<string, string> = {}) => post(base, '/api/auth/login', { email, password }, headers);

beforeAll(async () => {
  test = await createTestDatabase();
  [webA, proxied] = await Promise.all([startWeb({ DATABASE_URL: test.url }), startWeb({ DATABASE_URL: test.url, TRUST_PROXY: 'true' })]);
  for (const email of ['locked@example.com', 'sprayed@example.com']) expect((await post(webA.url, '/api/auth/signup', { email, password: PASSWORD })).status).toBe(201);
});
afterAll(async () => {
  await Promise.all([webA?.stop(), proxied?.stop()]);
  await test?.drop();
});

describe('login throttling across web processes', () => {
  it('10 wrong passwords on one process lock the account on the other, for REST and tRPC, with Retry-After', async () => {
    for (let i = 0; i < 10; i++) expect((await login(i % 2 ? webA.url : proxied.url, 'locked@example.com', `guess ${i}`)).status).toBe(401);
    const rest = await login(proxied.url, 'locked@example.com', PASSWORD);
    expect(rest.status).toBe(429);
    expect(rest.body).toEqual({ error: 'Too many failed logins; try again later' });
    const retryAfter = Number(rest.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);

    const trpc = await post(webA.url, '/api/trpc/auth.login?batch=1', { 0: { json: { email: 'locked@example.com', password: PASSWORD } } });
    expect(trpc.status).toBe(429);
    expect(trpc.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.stringify(trpc.body)).toContain('Too many failed logins; try again later');
  });

  it('counts per socket address, ignoring X-Forwarded-For unless TRUST_PROXY is set', async () => {
    await test.sql`delete from login_failures`;
    expect((await login(webA.url, 'nobody@example.com', 'guess', { 'x-forwarded-for': '203.0.113.99' })).status).toBe(401);
    const keys = (await test.sql`select key from login_failures order by key`).map((r) => r.key);
    expect(keys).toEqual(['account:nobody@example.com', 'client:127.0.0.1']);
  });

  it('behind a trusted proxy, 50 failures from one forwarded address lock that address out of every account', async () => {
    await test.sql`delete from login_failures`;
    const sprayer = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' };
    for (let i = 0; i < 50; i++) expect((await login(proxied.url, `spray-${i}@example.com`, 'password', sprayer)).status).toBe(401);
    expect((await login(proxied.url, 'sprayed@example.com', PASSWORD, sprayer)).status).toBe(429);
    // The address the proxy appended counts, not what the client claimed before it.
    expect((await login(proxied.url, 'sprayed@example.com', PASSWORD, { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' })).status).toBe(200);
  });
});
