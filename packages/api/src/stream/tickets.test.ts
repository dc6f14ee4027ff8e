import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamTestbed, openSse, openWs, type StreamTestbed } from './test-clients.ts';

/**
 * `?access_token=` on the stream used to take a session or API token, which then sat in URLs
 * (server logs, proxies, browser history). It now takes only a stream ticket: one execution,
 * 60 s, once.
 */
let bed: StreamTestbed;
let h: StreamTestbed['h'];
let guard: StreamTestbed['guard'];

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: 20 });
  ({ h, guard } = bed);
});
afterAll(async () => {
  await bed?.close();
});

const setup = () => bed.watcher();

async function ticketFor(executionId: string, token: string) {
  const res = await h.call('POST', `/api/executions/${executionId}/stream-ticket`, { token });
  expect(res.status).toBe(201);
  return res.body as { ticket: string; expiresAt: string };
}

const withTicket = (url: string, ticket: string) => `${url}?access_token=${encodeURIComponent(ticket)}`;

describe('POST /api/executions/:id/stream-ticket', () => {
  it('answers 201 { ticket, expiresAt } about 60 s ahead, and stores only its hash', async () => {
    const s = await setup();
    const before = Date.now();
    const { ticket, expiresAt } = await ticketFor(s.executionId, s.token);
    expect(ticket).toMatch(/^stkt_[A-Za-z0-9_-]{32}$/);
    const ttl = new Date(expiresAt).getTime() - before;
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThan(65_000);
    const rows = await h.database.db.execute<{ id: string; user_id: string; session_id: string | null; token_id: string | null }>(
      sql`select id, user_id, session_id, token_id from stream_tickets where execution_id = ${s.executionId}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(ticket);
    expect(rows[0]).toMatchObject({ user_id: s.userId, token_id: null });
    expect(rows[0]!.session_id).not.toBeNull();
  });

  it('needs credentials (401) and read access to the execution (403), like the status endpoint', async () => {
    const s = await setup();
    expect((await h.call('POST', `/api/executions/${s.executionId}/stream-ticket`)).status).toBe(401);
    const outsider = await h.signup('outsider@example.com');
    const refused = await h.call('POST', `/api/executions/${s.executionId}/stream-ticket`, { token: outsider.token });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: 'Access denied' });
    expect((await h.call('POST', '/api/executions/exec_0_nothing/stream-ticket', { token: s.token })).status).toBe(404);
  });
});

describe('?access_token= on the stream', () => {
  it('opens one stream with a ticket (WebSocket or SSE); a second use is 401', async () => {
    const s = await setup();
    const first = await ticketFor(s.executionId, s.token);
    const ws = await openWs(withTicket(s.stream(), first.ticket));
    expect(ws.status).toBe(101);
    expect(ws.messages[0]?.type).toBe('state');
    const again = await openWs(withTicket(s.stream(), first.ticket));
    expect(again.status).toBe(401);
    expect(again.body?.error).toMatch(/stream ticket/);

    const second = await ticketFor(s.executionId, s.token);
    const sse = await openSse(withTicket(s.stream(), second.ticket));
    expect(sse.status).toBe(200);
    await sse.ready;
    expect((await openSse(withTicket(s.stream(), second.ticket))).status).toBe(401);
    ws.socket?.close();
    sse.abort();
  });

  it('lets exactly one of many racing uses of a ticket through', async () => {
    const s = await setup();
    const { ticket } = await ticketFor(s.executionId, s.token);
    const all = await Promise.all(Array.from({ length: 6 }, () => openWs(withTicket(s.stream(), ticket))));
    expect(all.map((ws) => ws.status).sort()).toEqual([101, 401, 401, 401, 401, 401]);
    for (const ws of all) ws.socket?.close();
  });

  it('refuses an expired ticket with 401', async () => {
    const s = await setup();
    const { ticket } = await ticketFor(s.executionId, s.token);
    // 60 s pass (moved, not waited for).
    await h.database.db.execute(sql`update stream_tickets set expires_at = now() - interval '1 second' where execution_id = ${s.executionId}`);
    expect((await openWs(withTicket(s.stream(), ticket))).status).toBe(401);
    expect((await openSse(withTicket(s.stream(), ticket))).status).toBe(401);
  });

  it('never takes a session token or an API token (401)', async () => {
    const s = await setup();
    const apiToken = (await h.call('POST', '/api/tokens', { token: s.token, body: { name: 'url' } })).body.token as string;
    for (const credential of [s.token, apiToken]) {
      const ws = await openWs(withTicket(s.stream(), credential));
      expect(ws.status).toBe(401);
      const sse = await openSse(withTicket(s.stream(), credential));
      expect(sse.status).toBe(401);
      expect(sse.body?.error).toMatch(/stream ticket/);
    }
    // The same credentials still work where they belong: the Authorization header.
    const ws = await openWs(s.stream(), { authorization: `Bearer ${apiToken}` });
    expect(ws.status).toBe(101);
    ws.socket?.close();
  });

  it('refuses a ticket for another execution with 403', async () => {
    const s = await setup();
    const otherExecution = await s.start();
    const { ticket } = await ticketFor(otherExecution, s.token);
    const ws = await openWs(withTicket(s.stream(), ticket));
    expect(ws.status).toBe(403);
    expect(ws.body?.error).toMatch(/another execution/);
  });

  it('ends a ticket-opened stream when the credential that asked for the ticket ends', async () => {
    const s = await setup();
    const created = (await h.call('POST', '/api/tokens', { token: s.token, body: { name: 'issuer' } })).body as { id: string; token: string };
    const { ticket } = await ticketFor(s.executionId, created.token);
    const ws = await openWs(withTicket(s.stream(), ticket));
    expect(ws.status).toBe(101);
    await h.call('DELETE', `/api/tokens/${created.id}`, { token: s.token });
    await guard.check();
    expect(await ws.closed).toEqual({ code: 4401, reason: 'API token revoked' });

    // A ticket issued by a session that has since logged out opens nothing.
    const me = await h.call('GET', '/api/me', { token: s.token });
    const login = await h.call('POST', '/api/auth/login', { body: { email: me.body.user.email, password: 'correct horse battery' } });
    const late = await ticketFor(s.executionId, login.body.token);
    await h.call('POST', '/api/auth/logout', { token: login.body.token });
    expect((await openWs(withTicket(s.stream(), late.ticket))).status).toBe(401);
  });
});
