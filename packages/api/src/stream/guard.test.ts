import { sessionIdFromToken } from '@strata/auth';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../root.ts';
import { StreamGuard } from './guard.ts';
import type { StreamDeps } from './session.ts';
import { createStreamTestbed, openSse, openWs, type StreamTestbed, startStreamServer } from './test-clients.ts';

/**
 * Finding 6: streams outlived their credentials, and any number of them could be open.
 * The guard re-checks on a timer; these tests call `check()` themselves instead of waiting
 * for it (its interval is an hour here), except the one that proves the timer runs.
 */
let bed: StreamTestbed;
let h: StreamTestbed['h'];
let guard: StreamGuard;
let deps: StreamDeps;
const APP_ORIGIN = 'http://app.strata.test';
const MAX = 3;

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: MAX, origin: APP_ORIGIN });
  ({ h, guard, deps } = bed);
});
afterAll(async () => {
  await bed?.close();
});

/** A user with a workspace and a running execution, and its stream's URL on the test server. */
async function setup() {
  const watcher = await bed.watcher();
  return { ...watcher, stream: watcher.stream() };
}

async function apiToken(sessionToken: string, body: Record<string, unknown> = {}) {
  const res = await h.call('POST', '/api/tokens', { token: sessionToken, body: { name: 'stream', ...body } });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, token: res.body.token as string };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const closeFrame = (frames: { event: string; data: Record<string, unknown> }[]) => frames.filter((f) => f.event === 'close');

describe('streams end with their credentials', () => {
  it('ends an SSE stream when its API token is revoked, with a final close event saying why', async () => {
    const s = await setup();
    const t = await apiToken(s.token);
    const sse = await openSse(s.stream, bearer(t.token));
    await sse.ready;
    expect(sse.frames[0]?.event).toBe('state');
    expect((await h.call('DELETE', `/api/tokens/${t.id}`, { token: s.token })).status).toBe(200);
    await guard.check();
    const frames = await sse.ended;
    expect(frames.at(-1)).toEqual({ event: 'close', data: { code: 4401, reason: 'API token revoked' } });
    expect(guard.openCount).toBe(0);
  });

  it('closes a WebSocket with 4401 after logout (the session is gone from the database)', async () => {
    const s = await setup();
    const ws = await openWs(s.stream, bearer(s.token));
    expect(ws.status).toBe(101);
    expect((await h.call('POST', '/api/auth/logout', { token: s.token })).status).toBe(200);
    await guard.check();
    expect(await ws.closed).toEqual({ code: 4401, reason: 'Session ended (logged out)' });
  });

  it('closes with 4403 (WebSocket) and a close event (SSE) once the member is removed from the workspace', async () => {
    const s = await setup();
    const ws = await openWs(s.stream, bearer(s.token));
    const sse = await openSse(s.stream, bearer(s.token));
    await sse.ready;
    await h.database.db.execute(sql`delete from memberships where user_id = ${s.userId} and workspace_id = ${s.workspaceId}`);
    await guard.check();
    expect(await ws.closed).toEqual({ code: 4403, reason: 'Access to the workspace was removed' });
    expect(closeFrame(await sse.ended)).toEqual([{ event: 'close', data: { code: 4403, reason: 'Access to the workspace was removed' } }]);
  });

  it('ends streams whose API token or session expires while they are open', async () => {
    const s = await setup();
    const t = await apiToken(s.token, { expiresInDays: 1 });
    const byToken = await openWs(s.stream, bearer(t.token));
    const bySession = await openWs(s.stream, bearer(s.token));
    // Expiry comes with time; the test moves it instead of waiting a day.
    await h.database.db.execute(sql`update api_tokens set expires_at = now() - interval '1 second' where id = ${t.id}`);
    await h.database.db.execute(sql`update sessions set expires_at = now() - interval '1 second' where id = ${sessionIdFromToken(s.token)}`);
    await guard.check();
    expect(await byToken.closed).toEqual({ code: 4401, reason: 'API token expired' });
    expect(await bySession.closed).toEqual({ code: 4401, reason: 'Session expired' });
  });

  it('leaves streams alone while their credential and access hold', async () => {
    const s = await setup();
    const ws = await openWs(s.stream, bearer(s.token));
    await guard.check();
    await guard.check();
    expect(ws.socket?.readyState).toBe(ws.socket?.OPEN);
    ws.socket?.close();
    await ws.closed;
  });

  it('re-checks on its own: with a short interval a revoked stream closes without anyone calling check()', async () => {
    const timed = new StreamGuard({ db: h.database.db, maxPerCredential: MAX, checkIntervalMs: 50 });
    const timedServer = await startStreamServer({ ...deps, guard: timed });
    try {
      const s = await setup();
      const t = await apiToken(s.token);
      const ws = await openWs(`${timedServer.url}/api/executions/${s.executionId}/stream`, bearer(t.token));
      await h.call('DELETE', `/api/tokens/${t.id}`, { token: s.token });
      expect(await ws.closed).toEqual({ code: 4401, reason: 'API token revoked' });
    } finally {
      await timedServer.close();
      await timed.stop();
    }
  });

  it('ends the tRPC subscription with UNAUTHORIZED when its token is revoked', async () => {
    const s = await setup();
    const t = await apiToken(s.token);
    const { createContext } = await import('../context.ts');
    const ctx = await createContext({ ...h.deps, hub: bed.hub, streamGuard: guard }, new Headers(bearer(t.token)));
    const caller = appRouter.createCaller(ctx);
    const iterable = await caller.executions.stream({ id: s.executionId });
    const iterator = iterable[Symbol.asyncIterator]();
    const first = await iterator.next();
    // A tracked envelope: [id, event].
    expect((first.value as unknown as [string, { type: string }])[1].type).toBe('state');
    await h.call('DELETE', `/api/tokens/${t.id}`, { token: s.token });
    await guard.check();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'API token revoked' });
    expect(guard.openCount).toBe(0);
  });
});

describe('open streams per credential are capped', () => {
  it('refuses the stream over STREAM_MAX_PER_CREDENTIAL with 429 (SSE, and WebSocket before the upgrade), and admits again once one closes', async () => {
    const s = await setup();
    const t = await apiToken(s.token);
    const open = [await openWs(s.stream, bearer(t.token)), await openWs(s.stream, bearer(t.token))];
    const sse = await openSse(s.stream, bearer(t.token));
    await sse.ready;
    const refusedWs = await openWs(s.stream, bearer(t.token));
    expect(refusedWs.status).toBe(429);
    expect(refusedWs.body).toEqual({ error: 'Too many open streams for this credential' });
    const refusedSse = await openSse(s.stream, bearer(t.token));
    expect(refusedSse.status).toBe(429);
    expect(refusedSse.body?.error).toMatch(/too many open streams/i);
    // Another credential of the same user has its own count.
    const other = await openWs(s.stream, bearer(s.token));
    expect(other.status).toBe(101);
    other.socket?.close();
    // Closing one gives its place back.
    open[0]!.socket?.close();
    await open[0]!.closed;
    await expect.poll(async () => (await openWs(s.stream, bearer(t.token))).status).toBe(101);
    sse.abort();
  });

  it('counts across web processes (one table), and a crashed process stops counting once its leases run out', async () => {
    const s = await setup();
    const t = await apiToken(s.token);
    // A second "process": its own guard and its own server, the same database.
    const otherGuard = new StreamGuard({ db: h.database.db, maxPerCredential: MAX, checkIntervalMs: 3_600_000 });
    const other = await startStreamServer({ ...deps, guard: otherGuard });
    const otherStream = `${other.url}/api/executions/${s.executionId}/stream`;
    try {
      await openWs(s.stream, bearer(t.token));
      await openWs(otherStream, bearer(t.token));
      await openWs(s.stream, bearer(t.token));
      expect((await openWs(otherStream, bearer(t.token))).status).toBe(429);
      expect((await openWs(s.stream, bearer(t.token))).status).toBe(429);
      // The other process stops renewing, as if it had crashed: its lease runs out (moved here
      // instead of waited for).
      await h.database.db.execute(sql`update stream_processes set lease_expires_at = now() - interval '1 second' where id = ${otherGuard.processId}`);
      expect((await openWs(s.stream, bearer(t.token))).status).toBe(101);
    } finally {
      await other.close();
      await otherGuard.stop();
    }
  });

  it('admits exactly the cap when many streams of one credential open at once', async () => {
    const s = await setup();
    const t = await apiToken(s.token);
    const all = await Promise.all(Array.from({ length: 8 }, () => openWs(s.stream, bearer(t.token))));
    expect(all.filter((ws) => ws.status === 101)).toHaveLength(MAX);
    expect(all.filter((ws) => ws.status === 429)).toHaveLength(8 - MAX);
    for (const ws of all) ws.socket?.close();
  });
});

describe('opening a stream counts against the status rate limit', () => {
  it('refuses with 429 and Retry-After once the workspace spent its status reads; a refused stream takes no place in the cap', async () => {
    const limited = await startStreamServer({ ...deps, rateLimits: { status: 2 } });
    try {
      const s = await setup();
      const stream = `${limited.url}/api/executions/${s.executionId}/stream`;
      expect((await openWs(stream, bearer(s.token))).status).toBe(101);
      const sse = await openSse(stream, bearer(s.token));
      expect(sse.status).toBe(200);
      expect(sse.headers.get('ratelimit-remaining')).toBe('0');
      const ws = await openWs(stream, bearer(s.token));
      expect(ws.status).toBe(429);
      expect(ws.body).toEqual({ error: 'Rate limit exceeded' });
      expect(Number(ws.headers['retry-after'])).toBeGreaterThan(0);
      const refused = await openSse(stream, bearer(s.token));
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // The refused streams gave their places back: two are open, one place is left.
      const [row] = await h.database.db.execute<{ n: number }>(sql`select coalesce(sum(open), 0)::int as n from stream_counts where credential = ${`session:${sessionIdFromToken(s.token)}`}`);
      expect(row?.n).toBe(2);
      sse.abort();
    } finally {
      await limited.close();
    }
  });
});

describe('streams on the session cookie alone must come from the app', () => {
  const cookie = (token: string) => ({ cookie: `strata_session=${token}` });

  it('refuses a cross-site cookie upgrade with 403 before upgrading', async () => {
    const s = await setup();
    const evil = await openWs(s.stream, { ...cookie(s.token), origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body?.error).toMatch(/cross-site/i);
    const crossSite = await openWs(s.stream, { ...cookie(s.token), origin: APP_ORIGIN, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
  });

  it('refuses a cross-site cookie SSE request with 403 too (it would take a place in the cap and the rate limit)', async () => {
    const s = await setup();
    const refused = await openSse(s.stream, { ...cookie(s.token), 'sec-fetch-site': 'cross-site' });
    expect(refused.status).toBe(403);
    expect(refused.body?.error).toMatch(/cross-site/i);
    const own = await openSse(s.stream, { ...cookie(s.token), 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(200);
    own.abort();
  });

  it("accepts the app's own pages, and does not check Bearer upgrades", async () => {
    const s = await setup();
    const own = await openWs(s.stream, { ...cookie(s.token), origin: APP_ORIGIN });
    expect(own.status).toBe(101);
    own.socket?.close();
    const bearerFromElsewhere = await openWs(s.stream, { ...bearer(s.token), origin: 'https://evil.example' });
    expect(bearerFromElsewhere.status).toBe(101);
    bearerFromElsewhere.socket?.close();
  });
});
