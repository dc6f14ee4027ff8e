import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Finding 6 against the real server, two web processes on one database: a stream ends within
 * 5 s of its credential or access ending (whichever process did it), the cap on open streams
 * per credential holds across processes, cookie upgrades must come from the app, and
 * `?access_token=` takes only stream tickets.
 */
let h: EngineHarness;
let webA: RunningWeb;
let webB: RunningWeb;
const MAX = 4;
const BOUND_MS = 5_000;

beforeAll(async () => {
  h = await createEngineHarness();
  [webA, webB] = await Promise.all([
    startWeb({ DATABASE_URL: h.database.url, STREAM_MAX_PER_CREDENTIAL: String(MAX) }),
    startWeb({ DATABASE_URL: h.database.url, STREAM_MAX_PER_CREDENTIAL: String(MAX) }),
  ]);
});
afterAll(async () => {
  await Promise.all([webA?.stop(), webB?.stop()]);
  await h?.close();
});

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

let users = 0;
/** A user (session token) with a workspace and an execution that stays running (no worker). */
async function setup() {
  const email = `creds${++users}@example.com`;
  const signup = await call(webA.url, 'POST', '/api/auth/signup', undefined, { email, password: 'watching the watchers' });
  const token = signup.body.token as string;
  const userId = signup.body.user.id as string;
  const workspaceId = (await call(webA.url, 'POST', '/api/workspaces', token, { name: 'Creds' })).body.workspace.id as string;
  const strategy = await call(webA.url, 'POST', '/api/strategies', token, { workspaceId, name: 's', items: [{ key: 'a', description: 'A', agentType: 'coordination' }] });
  if (strategy.status !== 201) throw new Error(JSON.stringify(strategy.body));
  const execution = await startExecution(h.ctx, { strategyId: strategy.body.strategy.id, workspaceId });
  const path = `/api/executions/${execution.id}/stream`;
  return { token, userId, workspaceId, executionId: execution.id, path };
}

interface Ws {
  status: number;
  body?: { error: string };
  closed: Promise<{ code: number; reason: string; at: number }>;
  socket?: WebSocket;
}

function openWs(base: string, path: string, headers: Record<string, string>): Promise<Ws> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}${path}`, { headers });
    let closedWith!: (value: { code: number; reason: string; at: number }) => void;
    const closed = new Promise<{ code: number; reason: string; at: number }>((r) => {
      closedWith = r;
    });
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), closed }));
    });
    socket.once('message', () => resolve({ status: 101, closed, socket }));
    socket.on('close', (code, reason) => closedWith({ code, reason: String(reason), at: Date.now() }));
    socket.on('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

/** Reads an SSE stream to its end, keeping each frame's event name. */
async function readSse(base: string, path: string, headers: Record<string, string>, onFirst: () => Promise<void>) {
  const response = await fetch(`${base}${path}`, { headers });
  if (!response.ok || !response.body) return { status: response.status, frames: [], endedAt: Date.now() };
  const frames: { event: string; data: Record<string, unknown> }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const data = lines.find((l) => l.startsWith('data: '));
      if (!data) continue;
      frames.push({ event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message', data: JSON.parse(data.slice(6)) });
      if (frames.length === 1) await onFirst();
    }
  }
  return { status: response.status, frames, endedAt: Date.now() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('streams end with their credentials (real server, two processes)', () => {
  it('closes a WebSocket with 4401 within 5 s of a logout made through the other process', async () => {
    const s = await setup();
    const ws = await openWs(webA.url, s.path, bearer(s.token));
    expect(ws.status).toBe(101);
    const loggedOutAt = Date.now();
    expect((await call(webB.url, 'POST', '/api/auth/logout', s.token)).status).toBe(200);
    const closed = await ws.closed;
    expect(closed).toMatchObject({ code: 4401, reason: 'Session ended (logged out)' });
    expect(closed.at - loggedOutAt).toBeLessThan(BOUND_MS);
  });

  it('ends an SSE stream with a close event within 5 s of its API token being revoked', async () => {
    const s = await setup();
    const created = await call(webA.url, 'POST', '/api/tokens', s.token, { name: 'sse' });
    let revokedAt = 0;
    const sse = await readSse(webB.url, s.path, bearer(created.body.token), async () => {
      revokedAt = Date.now();
      expect((await call(webA.url, 'DELETE', `/api/tokens/${created.body.id}`, s.token)).status).toBe(200);
    });
    expect(sse.frames[0]?.event).toBe('state');
    expect(sse.frames.at(-1)).toEqual({ event: 'close', data: { code: 4401, reason: 'API token revoked' } });
    expect(sse.endedAt - revokedAt).toBeLessThan(BOUND_MS);
  });

  it('closes with 4403 within 5 s once the member leaves the workspace', async () => {
    const s = await setup();
    const ws = await openWs(webB.url, s.path, bearer(s.token));
    const removedAt = Date.now();
    // Member removal is built elsewhere; the row going is what counts.
    await h.database.sql`delete from memberships where user_id = ${s.userId} and workspace_id = ${s.workspaceId}`;
    const closed = await ws.closed;
    expect(closed).toMatchObject({ code: 4403, reason: 'Access to the workspace was removed' });
    expect(closed.at - removedAt).toBeLessThan(BOUND_MS);
  });

  it('ends the tRPC subscription with UNAUTHORIZED when its token is revoked', async () => {
    const s = await setup();
    const created = await call(webA.url, 'POST', '/api/tokens', s.token, { name: 'trpc' });
    const { createStrataClient } = await import('@strata/client');
    const { EventSource } = await import('eventsource');
    const client = createStrataClient({ baseUrl: webB.url, token: created.body.token, EventSource: EventSource as unknown as typeof globalThis.EventSource });
    const error = await new Promise<{ data?: { code?: string }; message: string }>((resolve) => {
      let first = true;
      const subscription = client.executions.stream.subscribe(
        { id: s.executionId },
        {
          onData: () => {
            if (!first) return;
            first = false;
            void call(webA.url, 'DELETE', `/api/tokens/${created.body.id}`, s.token);
          },
          onError: (e) => {
            subscription.unsubscribe();
            resolve(e as never);
          },
        },
      );
    });
    expect(error.message).toBe('API token revoked');
    expect(error.data?.code).toBe('UNAUTHORIZED');
  });
});

describe('open streams per credential (STREAM_MAX_PER_CREDENTIAL) across processes', () => {
  it('refuses the stream over the cap with 429 whichever process gets it', async () => {
    const s = await setup();
    const open = [
      await openWs(webA.url, s.path, bearer(s.token)),
      await openWs(webB.url, s.path, bearer(s.token)),
      await openWs(webA.url, s.path, bearer(s.token)),
      await openWs(webB.url, s.path, bearer(s.token)),
    ];
    expect(open.map((ws) => ws.status)).toEqual([101, 101, 101, 101]);
    const refused = await openWs(webA.url, s.path, bearer(s.token));
    expect(refused).toMatchObject({ status: 429, body: { error: 'Too many open streams for this credential' } });
    const sse = await fetch(`${webB.url}${s.path}`, { headers: bearer(s.token) });
    expect(sse.status).toBe(429);
    expect(await sse.json()).toEqual({ error: 'Too many open streams for this credential' });
    open[0]!.socket?.close();
    await open[0]!.closed;
    await expect.poll(async () => (await openWs(webB.url, s.path, bearer(s.token))).status).toBe(101);
  });
});

describe('cookie upgrades and stream tickets', () => {
  it('refuses a cross-site cookie WebSocket upgrade with 403, accepts the app itself', async () => {
    const s = await setup();
    const cookie = { cookie: `strata_session=${s.token}` };
    const evil = await openWs(webA.url, s.path, { ...cookie, origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body?.error).toMatch(/cross-site/i);
    const own = await openWs(webA.url, s.path, { ...cookie, origin: webA.url });
    expect(own.status).toBe(101);
    own.socket?.close();
  });

  it('opens a stream once with a ticket from POST /api/executions/:id/stream-ticket; never with a token in the URL', async () => {
    const s = await setup();
    const issued = await call(webA.url, 'POST', `/api/executions/${s.executionId}/stream-ticket`, s.token);
    expect(issued.status).toBe(201);
    expect(Object.keys(issued.body).sort()).toEqual(['expiresAt', 'ticket']);
    const withTicket = `${s.path}?access_token=${issued.body.ticket}`;
    const ws = await openWs(webB.url, withTicket, {});
    expect(ws.status).toBe(101);
    ws.socket?.close();
    expect((await openWs(webA.url, withTicket, {})).status).toBe(401);
    expect((await openWs(webA.url, `${s.path}?access_token=${s.token}`, {})).status).toBe(401);
    expect((await fetch(`${webA.url}${s.path}?access_token=${s.token}`)).status).toBe(401);
  });
});
