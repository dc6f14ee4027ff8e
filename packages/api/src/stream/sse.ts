import type { IncomingMessage, ServerResponse } from 'node:http';
import { sseFrame, type WireEvent } from './hub.ts';
import type { StreamEnd } from './guard.ts';
import { admitStream, authorizeStream, crossSiteRefusal, openStream, resumePoint, type StreamDeps } from './session.ts';

const HEARTBEAT_MS = 15_000;
/** Bytes a client may leave unread before it is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const PING = Buffer.from(': ping\n\n');
const RETRY = Buffer.from('retry: 2000\n\n');
const CRLF = Buffer.from('\r\n');
/** A batch shared by many subscribers is framed once. */
const batches = new WeakMap<readonly WireEvent[], Buffer>();

/** SSE bytes as one HTTP/1.1 chunk: its size line, the bytes, CRLF. */
const httpChunk = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, CRLF]);

/**
 * Events as one HTTP/1.1 chunk of SSE frames, built once and shared by every subscriber: a
 * write is then one buffer handed to the socket, not a pass through the HTTP layer per client.
 */
function batchChunk(events: readonly WireEvent[]): Buffer {
  if (events.length === 1) {
    const event = events[0]!;
    event.sseChunk ??= httpChunk(sseFrame(event));
    return event.sseChunk;
  }
  let bytes = batches.get(events);
  if (!bytes) {
    bytes = httpChunk(Buffer.concat(events.map(sseFrame)));
    batches.set(events, bytes);
  }
  return bytes;
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  return headers;
}

/** The last frame of a stream the server ends early; named apart from the twelve event types. */
export function sseCloseFrame(end: StreamEnd): Buffer {
  return Buffer.from(`event: close\ndata: ${JSON.stringify({ code: end.code, reason: end.reason })}\n\n`);
}

function refuse(res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error }));
}

/**
 * `GET /api/executions/:id/stream` without an upgrade: Server-Sent Events, written straight
 * to the Node response (one shared buffer per event or batch, whatever the number of clients).
 * When the credential or the caller's access ends, a `close` event says why and the response ends.
 */
export async function serveSse(req: IncomingMessage, res: ServerResponse, deps: StreamDeps, executionId: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = headersOf(req);
  const auth = await authorizeStream(deps, { headers, url, executionId });
  if (!auth.ok) return refuse(res, auth.status, auth.error);
  const crossSite = crossSiteRefusal(deps, auth, headers);
  if (crossSite) return refuse(res, 403, crossSite);
  const admission = await admitStream(deps, auth);
  if (!admission.ok) return refuse(res, admission.status, admission.error, admission.headers);
  const { lease } = admission;
  let open = true;
  let stop: () => void = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  const close = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    void lease?.release();
    res.end();
  };
  res.on('close', () => {
    open = false;
    clearInterval(heartbeat);
    void lease?.release();
    stop();
  });
  // Whatever fails from here, the response's 'close' gives the lease back.
  await deps.hub.start();
  res.writeHead(200, {
    ...admission.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(RETRY);
  heartbeat = setInterval(() => res.write(PING), HEARTBEAT_MS);
  heartbeat.unref();
  // Once the headers went out on a chunked response, the HTTP layer writes straight to the
  // socket: writing the pre-framed chunk there keeps the order and skips the per-client framing.
  const socket = res.socket;
  const direct = socket !== null && res.headersSent && (res as unknown as { chunkedEncoding?: boolean }).chunkedEncoding === true;
  stop = await openStream(deps, executionId, resumePoint(headers, url), auth.include, {
    transport: 'sse',
    send(events) {
      if (!open) return false;
      // A client that stopped reading is dropped rather than buffered without limit.
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        res.destroy();
        return false;
      }
      if (direct) socket.write(batchChunk(events));
      else res.write(events.length === 1 ? sseFrame(events[0]!) : Buffer.concat(events.map(sseFrame)));
      return true;
    },
    close,
  });
  if (!open) return stop();
  lease?.onEnd((end) => {
    if (open) res.write(sseCloseFrame(end));
    stop();
    close();
  });
}
