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
});
