import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamTestbed, type StreamTestbed } from './test-clients.ts';

/**
 * SSE is written to the socket as pre-framed HTTP/1.1 chunks shared by every subscriber; a
 * client the HTTP layer does not answer in chunks (HTTP/1.0) gets plain writes instead.
 */
let bed: StreamTestbed;

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: 20 });
});
afterAll(async () => {
  await bed?.close();
});

/** The raw bytes of one SSE response, read until the server closes; `stateSeen` resolves once the state frame arrived. */
function rawStream(url: string, token: string, version: '1.0' | '1.1') {
  const target = new URL(url);
  const socket = connect(Number(target.port), target.hostname);
  let text = '';
  let markState!: () => void;
  const stateSeen = new Promise<void>((resolve) => (markState = resolve));
  socket.write(`GET ${target.pathname} HTTP/${version}\r\nHost: ${target.host}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`);
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
    if (text.includes('event: state\n')) markState();
  });
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
  return { stateSeen, ended, destroy: () => socket.destroy() };
}

/** Decodes a chunked body, failing on any malformed chunk. */
function dechunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const line = body.indexOf('\r\n', at);
    expect(line).toBeGreaterThan(at);
    const size = Number.parseInt(body.slice(at, line), 16);
    expect(body.slice(at, line)).toMatch(/^[0-9a-f]+$/);
    if (size === 0) return out;
    out += body.slice(line + 2, line + 2 + size);
    expect(body.slice(line + 2 + size, line + 4 + size)).toBe('\r\n');
    at = line + 4 + size;
  }
}

const events = (sse: string) => [...sse.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);

describe('SSE on the wire', () => {
  for (const version of ['1.1', '1.0'] as const) {
    it(`sends well-formed frames to an HTTP/${version} client until the final event`, async () => {
      const w = await bed.watcher();
      const stream = rawStream(w.stream(), w.token, version);
      await stream.stateSeen;
      const cancelled = await bed.h.call('POST', `/api/executions/${w.executionId}/cancel`, { token: w.token });
      expect(cancelled.status).toBe(200);
      const raw = await stream.ended;
      const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n') + 4)];
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      const chunked = /^transfer-encoding: chunked$/im.test(head);
      expect(chunked).toBe(version === '1.1');
      const sse = chunked ? dechunk(body) : body;
      expect(events(sse)[0]).toBe('state');
      expect(events(sse).at(-1)).toBe('execution-cancelled');
      // Every frame is whole: id, event, data lines and a blank line.
      for (const frame of sse.split('\n\n').filter((f) => f.startsWith('id: '))) expect(frame).toMatch(/^id: \d+\nevent: [a-z-]+\ndata: \{.*\}$/s);
    });
  }
});
