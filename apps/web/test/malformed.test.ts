/**
 * Finding 1 of issue 9: no request takes the server down. A corpus of malformed requests,
 * upgrades and WebSocket frames goes to the built web server over raw sockets; after each one
 * `/api/health` still answers 200 and the process is still running.
 */
import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitCloseFrame, type RawOptions, type RawReply, rawExchange, wsFrame } from './raw-http.ts';
import { startWeb, type RunningWeb } from './server.ts';

let h: EngineHarness;
let web: RunningWeb;
let token: string;
let executionId: string;

beforeAll(async () => {
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url });
  const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'fuzzer@example.com', password: 'malformed corpus runner' }) });
  token = (await signup.json()).token;
  const workspace = await fetch(`${web.url}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'Fuzz' }) });
  const workspaceId = (await workspace.json()).workspace.id as string;
  const strategyId = await h.strategy(workspaceId, [{ key: 'wait', description: 'Waits for a worker that never comes', agentType: 'coordination', input: {} }]);
  // No worker runs in this file: the execution stays open, and so does its stream.
  executionId = (await startExecution(h.ctx, { strategyId, workspaceId })).id;
});
afterAll(async () => {
  await web?.stop();
  await h?.close();
});

const host = () => new URL(web.url).host;
const streamPath = () => `/api/executions/${executionId}/stream`;
const wsHeaders = (key = 'dGhlIHNhbXBsZSBub25jZQ==', version = '13') => `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n`;
const get = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\n${headers}Connection: close\r\n\r\n`;
const upgrade = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\n${wsHeaders()}${headers}\r\n`;
const authorized = () => `Authorization: Bearer ${token}\r\n`;

/** A refusal: a 4xx reply, or the connection closed without one. */
const refused = (reply: RawReply) => {
  if (reply.status !== null) expect(reply.status, reply.head).toBeGreaterThanOrEqual(400);
  if (reply.status !== null) expect(reply.status, reply.head).toBeLessThan(500);
};
/** A 400 from the server's own guard: JSON `{ error }`. */
const jsonError = (status: number) => (reply: RawReply) => {
  expect(reply.status, reply.head).toBe(status);
  expect(reply.head.toLowerCase()).toContain('content-type: application/json');
  expect(JSON.parse(reply.body)).toEqual({ error: expect.any(String) });
};

interface RequestCase {
  name: string;
  payload: () => string | Buffer;
  options?: RawOptions;
  check?: (reply: RawReply) => void;
}

const requests: RequestCase[] = [
  // Percent-encoding that decodeURIComponent refuses, on the stream path and elsewhere.
  { name: 'truncated UTF-8 escape in the stream path', payload: () => get('/api/executions/%E0%A4%A/stream'), check: jsonError(400) },
  { name: 'lone % in the stream path', payload: () => get('/api/executions/%/stream'), check: jsonError(400) },
  { name: 'non-hex escape in the stream path', payload: () => get('/api/executions/%ZZ/stream'), check: jsonError(400) },
  { name: 'overlong UTF-8 in the stream path', payload: () => get('/api/executions/%C0%AF/stream'), check: jsonError(400) },
  { name: 'UTF-16 surrogate in the stream path', payload: () => get('/api/executions/%ED%A0%80/stream'), check: jsonError(400) },
  { name: 'bad escape in the stream path, authenticated', payload: () => get('/api/executions/%E0%A4%A/stream', authorized()), check: jsonError(400) },
  { name: 'bad escape in a page path', payload: () => get('/app/%E0%A4%A'), check: jsonError(400) },
  { name: 'bad escape in an API path', payload: () => get('/api/executions/%FF'), check: jsonError(400) },
  { name: 'bad escape in the query string', payload: () => get('/api/health?x=%E0%A4%A') },
  { name: 'encoded slash in the execution id', payload: () => get('/api/executions/a%2Fb/stream'), check: refused },
  // Request lines.
  { name: 'GET //[ (an authority that is not one)', payload: () => get('//['), check: jsonError(400) },
  { name: 'GET //[ on the stream path', payload: () => get('//[/api/executions/x/stream'), check: jsonError(400) },
  { name: 'absolute-form target with a broken host', payload: () => get('http://[/api/health'), check: refused },
  { name: 'asterisk-form target on GET', payload: () => get('*'), check: refused },
  { name: 'OPTIONS *', payload: () => `OPTIONS * HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`, check: refused },
  { name: 'no target at all', payload: () => `GET  HTTP/1.1\r\nHost: ${host()}\r\n\r\n`, check: refused },
  { name: 'unknown HTTP version', payload: () => `GET / HTTP/9.9\r\nHost: ${host()}\r\n\r\n`, check: refused },
  { name: 'invalid method token', payload: () => `G@T / HTTP/1.1\r\nHost: ${host()}\r\n\r\n`, check: refused },
  { name: 'HTTP/1.1 without Host', payload: () => 'GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n', check: refused },
  { name: 'binary garbage', payload: () => Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]), check: refused },
  { name: 'a TLS ClientHello on the plain port', payload: () => Buffer.from('16030100a5010000a10303', 'hex'), options: { after: 'hang-up' } },
  { name: 'a 20 KiB request target', payload: () => get(`/api/health?${'a'.repeat(20 * 1024)}`), check: (reply) => expect(reply.status).toBe(431) },
  // Headers.
  { name: 'header line without a colon', payload: () => get('/api/health', 'NoColonHere\r\n'), check: refused },
  { name: 'space before the colon', payload: () => get('/api/health', 'X-Test : 1\r\n'), check: refused },
  { name: 'invalid header name', payload: () => get('/api/health', 'X(Y): 1\r\n'), check: refused },
  { name: 'NUL in a header value', payload: () => get('/api/health', 'X-Test: a\0b\r\n'), check: refused },
  { name: 'obs-text bytes in headers (cookie, authorization)', payload: () => Buffer.from(get(streamPath(), 'Cookie: strata_session=\xe9\xff\r\nAuthorization: Bearer \xe9\r\n'), 'latin1'), check: refused },
  { name: 'Host that is not a host', payload: () => `GET /app HTTP/1.1\r\nHost: [\r\nConnection: close\r\n\r\n`, check: refused },
  { name: 'an 8 KiB Host', payload: () => `GET /api/health HTTP/1.1\r\nHost: ${'h'.repeat(8 * 1024)}\r\nConnection: close\r\n\r\n` },
  { name: '2,000 headers (a 20 KiB header block)', payload: () => get('/api/health', Array.from({ length: 2000 }, (_, i) => `X-${i}: y\r\n`).join('')), check: (reply) => expect(reply.status).toBe(431) },
  { name: 'one 20 KiB header', payload: () => get('/api/health', `X-Big: ${'b'.repeat(20 * 1024)}\r\n`), check: (reply) => expect(reply.status).toBe(431) },
  { name: 'header block that never ends', payload: () => `GET /api/health HTTP/1.1\r\nHost: ${host()}\r\nX-Partial: `, options: { after: 'hang-up' } },
  { name: 'malformed session cookie', payload: () => get('/api/me', 'Cookie: strata_session=%E0%A4%A; other=%\r\n'), check: refused },
  { name: 'malformed bearer token on the stream', payload: () => get(streamPath(), 'Authorization: Bearer %%%\r\n'), check: jsonError(401) },
  { name: 'Origin that is not a URL on a POST', payload: () => `POST /api/auth/logout HTTP/1.1\r\nHost: ${host()}\r\nOrigin: [\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, check: refused },
  { name: 'conflicting Content-Length headers', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello`, check: refused },
  { name: 'negative Content-Length', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: -1\r\n\r\n`, check: refused },
  { name: 'a Content-Length of 10^20', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 99999999999999999999\r\n\r\n`, check: refused },
  { name: 'a 1 GB Content-Length, then the client leaves', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{"email":`, options: { after: 'reset' } },
  { name: 'Content-Length and Transfer-Encoding together', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, check: refused },
  { name: 'a chunk size that is not hex', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, check: refused },
  { name: 'an unknown transfer coding', payload: () => `POST /api/auth/login HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n`, check: refused },
  // Upgrades.
  { name: 'WebSocket upgrade of the truncated-escape stream path', payload: () => upgrade('/api/executions/%E0%A4%A/stream'), check: jsonError(400) },
  { name: 'WebSocket upgrade of GET //[', payload: () => upgrade('//['), check: jsonError(400) },
  { name: 'WebSocket upgrade of //[ on the stream path', payload: () => upgrade('//[/api/executions/x/stream'), check: jsonError(400) },
  { name: 'WebSocket upgrade of a lone % path', payload: () => upgrade('/api/%'), check: jsonError(400) },
  { name: 'WebSocket upgrade of a path that streams nothing', payload: () => upgrade('/api/health'), check: jsonError(404) },
  { name: 'WebSocket upgrade without credentials', payload: () => upgrade(streamPath()), check: jsonError(401) },
  { name: 'WebSocket upgrade, then a reset before the server answers', payload: () => upgrade(streamPath(), authorized()), options: { after: 'reset' } },
  { name: 'unauthenticated upgrade, then a reset before the refusal', payload: () => upgrade(streamPath()), options: { after: 'reset' } },
  { name: 'upgrade headers that never finish', payload: () => `GET ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${wsHeaders()}`, options: { after: 'hang-up' } },
  { name: 'upgrade with a Sec-WebSocket-Key that is not one', payload: () => `GET ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${authorized()}${wsHeaders('not a key!')}\r\n`, check: refused },
  { name: 'upgrade without a Sec-WebSocket-Key', payload: () => `GET ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${authorized()}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`, check: refused },
  { name: 'upgrade with Sec-WebSocket-Version 99', payload: () => `GET ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${authorized()}${wsHeaders(undefined, '99')}\r\n`, check: refused },
  { name: 'upgrade to a protocol that is not WebSocket', payload: () => `GET ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${authorized()}Upgrade: h2c\r\nConnection: Upgrade\r\n\r\n`, check: refused },
  { name: 'upgrade with a body that is not there', payload: () => `POST ${streamPath()} HTTP/1.1\r\nHost: ${host()}\r\n${wsHeaders()}Content-Length: 100\r\n\r\n`, check: refused },
];

/** Frames sent after a valid, authenticated upgrade: the server closes with a protocol error. */
const frames: { name: string; bytes: () => Buffer; closeCodes: number[] }[] = [
  { name: 'an unmasked client frame', bytes: () => wsFrame({ opcode: 0x1, payload: Buffer.from('hi'), masked: false }), closeCodes: [1002] },
  { name: 'a reserved opcode', bytes: () => wsFrame({ opcode: 0x3 }), closeCodes: [1002] },
  { name: 'RSV1 without a negotiated extension', bytes: () => wsFrame({ opcode: 0x1, rsv: 4, payload: Buffer.from('hi') }), closeCodes: [1002] },
  { name: 'a 64-bit length with the top bit set', bytes: () => wsFrame({ opcode: 0x2, declaredLength: 2n ** 63n + 5n }), closeCodes: [1009, 1002] },
  { name: 'a 200 MiB frame announced', bytes: () => wsFrame({ opcode: 0x2, declaredLength: 200n * 1024n * 1024n }), closeCodes: [1009] },
  { name: 'a text frame that is not UTF-8', bytes: () => wsFrame({ opcode: 0x1, payload: Buffer.from([0xc3, 0x28, 0xff]) }), closeCodes: [1007] },
  { name: 'a close frame with code 999', bytes: () => wsFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe7]) }), closeCodes: [1002] },
  { name: 'a ping longer than 125 bytes', bytes: () => wsFrame({ opcode: 0x9, payload: Buffer.alloc(126) }), closeCodes: [1002] },
  { name: 'a fragmented ping', bytes: () => wsFrame({ opcode: 0x9, fin: false }), closeCodes: [1002] },
  { name: 'a continuation with nothing to continue', bytes: () => wsFrame({ opcode: 0x0, payload: Buffer.from('x') }), closeCodes: [1002] },
];

async function expectHealthy() {
  expect(web.process.exitCode, web.output().slice(-3000)).toBeNull();
  const health = await fetch(`${web.url}/api/health`);
  expect(health.status).toBe(200);
}

describe('malformed traffic (issue 9, finding 1)', () => {
  it('has a corpus of at least 40 requests', () => {
    expect(requests.length + frames.length).toBeGreaterThanOrEqual(40);
  });

  it.each(requests)('survives $name', async ({ payload, options, check }) => {
    const reply = await rawExchange(web.url, payload(), options);
    reply.socket.destroy();
    check?.(reply);
    await expectHealthy();
  });

  it.each(frames)('closes a WebSocket stream on $name and survives', async ({ bytes, closeCodes }) => {
    const reply = await rawExchange(web.url, upgrade(streamPath(), authorized()));
    expect(reply.status, reply.head + reply.body).toBe(101);
    const closed = awaitCloseFrame(reply.socket);
    reply.socket.write(bytes());
    expect(closeCodes).toContain(await closed);
    reply.socket.destroy();
    await expectHealthy();
  });

  it('survives a client that resets an open WebSocket stream', async () => {
    const reply = await rawExchange(web.url, upgrade(streamPath(), authorized()));
    expect(reply.status).toBe(101);
    reply.socket.resetAndDestroy();
    await expectHealthy();
  });

  it('logs what it refused and is still running at the end', async () => {
    await expectHealthy();
    expect(web.output()).toContain('malformed request refused');
  });
});
