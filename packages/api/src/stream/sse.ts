import type { IncomingMessage, ServerResponse } from 'node:http';
import { sseFrame, type WireEvent } from './hub.ts';
import type { StreamEnd } from './guard.ts';
import { admitStream, authorizeStream, crossSiteRefusal, openStream, resumePoint, type StreamDeps } from './session.ts';

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
  stop = await openStream(deps, executionId, resumePoint(headers, url), auth.include, {
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
  if (!open) return stop();
  lease?.onEnd((end) => {
    if (open) res.write(sseCloseFrame(end));
    stop();
    close();
  });
}
