import type { IncomingMessage, ServerResponse } from 'node:http';
import { sseFrame, type WireEvent } from './hub.ts';
import { authorizeStream, openStream, resumePoint, type StreamDeps } from './session.ts';

const HEARTBEAT_MS = 15_000;
/** Bytes a client may leave unread before it is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const PING = Buffer.from(': ping\n\n');
const RETRY = Buffer.from('retry: 2000\n\n');
/** A batch shared by many subscribers is concatenated once. */
const batches = new WeakMap<readonly WireEvent[], Buffer>();

function batchBytes(events: readonly WireEvent[]): Buffer {
  if (events.length === 1) return sseFrame(events[0]!);
  let bytes = batches.get(events);
  if (!bytes) {
    bytes = Buffer.concat(events.map(sseFrame));
    batches.set(events, bytes);
  }
  return bytes;
}

function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  return headers;
}

/**
 * `GET /api/executions/:id/stream` without an upgrade: Server-Sent Events, written straight
 * to the Node response (one shared buffer per event or batch, whatever the number of clients).
 */
export async function serveSse(req: IncomingMessage, res: ServerResponse, deps: StreamDeps, executionId: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = headersOf(req);
  const auth = await authorizeStream(deps, { headers, url, executionId });
  if (!auth.ok) {
    res.writeHead(auth.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: auth.error }));
    return;
  }
  await deps.hub.start();
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(RETRY);
  let open = true;
  const heartbeat = setInterval(() => res.write(PING), HEARTBEAT_MS);
  heartbeat.unref();
  const close = () => {
    if (!open) return;
    open = false;
    clearInterval(heartbeat);
    res.end();
  };
  const stop = await openStream(deps, executionId, resumePoint(headers, url), {
    send(events) {
      if (!open) return false;
      // A client that stopped reading is dropped rather than buffered without limit.
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        res.destroy();
        return false;
      }
      res.write(batchBytes(events));
      return true;
    },
    close,
  });
  res.on('close', () => {
    open = false;
    clearInterval(heartbeat);
    stop();
  });
}
