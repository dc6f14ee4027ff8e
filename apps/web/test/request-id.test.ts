import { createEngineHarness, type EngineHarness, until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from './raw-http.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * X-Request-Id on every answer of the web process, whatever serves it: a sane one sent by the
 * caller comes back as it was, a missing one is generated, a garbage one replaced; the lines the
 * process logs for the request carry it.
 */
let h: EngineHarness;
let web: RunningWeb;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeAll(async () => {
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url, LOG_FORMAT: undefined });
});
afterAll(async () => {
  await web?.stop();
  await h?.close();
});

/** A request to each surface: health, REST (answered 401), tRPC, a page, the SSE stream (refused 401), a 404 page. */
const surfaces: [string, string, RequestInit?][] = [
  ['health', '/api/health'],
  ['REST', '/api/me'],
  ['REST 404', '/api/no-such-thing'],
  ['tRPC', '/api/trpc/auth.me'],
  ['page', '/login'],
  ['SSE stream', '/api/executions/exec_1_x/stream'],
  ['missing page', '/nowhere'],
  ['REST POST', '/api/executions/start', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
];

describe('X-Request-Id', () => {
  it.each(surfaces)('returns the caller’s id on %s', async (_name, path, init) => {
    const response = await fetch(`${web.url}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-request-id': 'caller-id-0001' } });
    await response.arrayBuffer().catch(() => {});
    expect(response.headers.get('x-request-id')).toBe('caller-id-0001');
  });

  it.each(surfaces)('generates one on %s when none is sent, a new one each time', async (_name, path, init) => {
    const ids: (string | null)[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${web.url}${path}`, init);
      await response.arrayBuffer().catch(() => {});
      ids.push(response.headers.get('x-request-id'));
    }
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it.each([['a'.repeat(129)], ['has spaces in it'], ['quote"d'], ['<script>'], ['semi;colon']])('replaces the garbage id %j with a new one', async (garbage) => {
    const response = await fetch(`${web.url}/api/health`, { headers: { 'x-request-id': garbage } });
    await response.arrayBuffer();
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it('is on the guard’s own refusals and on the lines logged for the request', async () => {
    const reply = await rawExchange(web.url, 'GET /api/%E0%A4%A HTTP/1.1\r\nHost: x\r\nX-Request-Id: refused-0002\r\nConnection: close\r\n\r\n');
    reply.socket.destroy();
    expect(reply.status).toBe(400);
    expect(reply.head).toMatch(/\r\nx-request-id: refused-0002\r\n/i);
    const logLines = () =>
      web
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The process's output arrives through a pipe: wait for the line.
    await until('the refusal logged', () => logLines().some((line) => line.requestId === 'refused-0002'), 10_000);
    const lines = logLines();
    const logged = lines.filter((line) => line.requestId === 'refused-0002');
    expect(logged.map((line) => line.msg)).toEqual([expect.stringContaining('malformed request refused')]);
    // Lines about no request carry no id.
    expect(lines.find((line) => String(line.msg).startsWith('web listening'))?.requestId).toBeUndefined();
  });

  it('is on WebSocket upgrades: the 101, a refusal (401) and a malformed target (400), each with the lines logged for it', async () => {
    const upgrade = (path: string, id: string, auth?: string) =>
      rawExchange(
        web.url,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}X-Request-Id: ${id}\r\n\r\n`,
      );
    const refused = await upgrade('/api/executions/exec_1_x/stream', 'ws-refused-0003');
    refused.socket.destroy();
    expect(refused.status).toBe(401);
    expect(refused.head).toMatch(/\r\nx-request-id: ws-refused-0003\r\n/i);
    const malformed = await upgrade('/api/executions/%E0%A4%A/stream', 'ws-malformed-0004');
    malformed.socket.destroy();
    expect(malformed.status).toBe(400);
    expect(malformed.head).toMatch(/\r\nx-request-id: ws-malformed-0004\r\n/i);

    // A 101 needs a caller who may read a real execution.
    const json = { 'content-type': 'application/json' };
    const { token } = (await (await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ email: 'ws-id@example.com', password: 'a request id password' }) })).json()) as { token: string };
    const authed = { ...json, authorization: `Bearer ${token}` };
    const { workspace } = (await (await fetch(`${web.url}/api/workspaces`, { method: 'POST', headers: authed, body: JSON.stringify({ name: 'Ids' }) })).json()) as { workspace: { id: string } };
    const { strategy } = (await (
      await fetch(`${web.url}/api/strategies`, { method: 'POST', headers: authed, body: JSON.stringify({ workspaceId: workspace.id, name: 'One', items: [{ key: 'a', description: 'A', agentType: 'coordination' }] }) })
    ).json()) as { strategy: { id: string } };
    const { executionId } = (await (await fetch(`${web.url}/api/executions/start`, { method: 'POST', headers: authed, body: JSON.stringify({ strategyId: strategy.id, workspaceId: workspace.id }) })).json()) as { executionId: string };
    const opened = await upgrade(`/api/executions/${executionId}/stream`, 'ws-open-0005', token);
    opened.socket.destroy();
    expect(opened.status).toBe(101);
    expect(opened.head).toMatch(/\r\nx-request-id: ws-open-0005(\r\n|$)/i);

    const logged = () =>
      web
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.requestId === 'ws-malformed-0004');
    await until('the malformed upgrade logged', () => logged().length > 0, 10_000);
    expect(logged().map((line) => line.msg)).toEqual([expect.stringContaining('malformed upgrade refused')]);
  });
});
