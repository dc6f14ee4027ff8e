import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { answerSocket } from '../raw-answer.ts';
import { upgradeRequestId } from '../request-id.ts';
import { type WireEvent, wsFrame } from './hub.ts';
import { admitStream, authorizeStream, crossSiteRefusal, openStream, resumePoint, type StreamDeps } from './session.ts';

const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const STREAM_PATH = /^\/api\/executions\/([^/]+)\/stream\/?$/;
/** A batch shared by many subscribers is framed once. */
const batches = new WeakMap<readonly WireEvent[], Buffer>();

function batchFrames(events: readonly WireEvent[]): Buffer {
  if (events.length === 1) return wsFrame(events[0]!);
  let bytes = batches.get(events);
  if (!bytes) {
    bytes = Buffer.concat(events.map(wsFrame));
    batches.set(events, bytes);
  }
  return bytes;
}

/** True for the upgrade requests this module serves. */
export function isStreamUpgrade(request: IncomingMessage): boolean {
  return streamTarget(request) !== null;
}

/** The URL and execution id of a stream upgrade; null for anything else, including a target that does not parse or decode. */
function streamTarget(request: IncomingMessage): { url: URL; executionId: string } | null {
  try {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = STREAM_PATH.exec(url.pathname);
    return match ? { url, executionId: decodeURIComponent(match[1]!) } : null;
  } catch {
    return null;
  }
}


/**
 * WebSocket upgrades of `/api/executions/:id/stream`: the same checks and the same stream as
 * SSE, each event one text message; `?after=<eventId>` resumes. An upgrade that rests on the
 * session cookie alone must come from the app's own pages (a WebSocket is not bound by CORS:
 * any site could otherwise open one with the visitor's cookie). When the credential or the
 * caller's access ends, the socket closes with 4401 or 4403 and the reason.
 */
export function createStreamUpgradeHandler(getDeps: () => Promise<StreamDeps>) {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  // The 101 carries the request's id, as every other answer of the web process does.
  wss.on('headers', (headers, request) => {
    const requestId = upgradeRequestId(request.socket);
    if (requestId) headers.push(`X-Request-Id: ${requestId}`);
  });
  return async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = streamTarget(request);
    if (!target) return answerSocket(socket, 404, 'Not found');
    const { url, executionId } = target;
    try {
      const deps = await getDeps();
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value);
      const auth = await authorizeStream(deps, { headers, url, executionId });
      if (!auth.ok) return answerSocket(socket, auth.status, auth.error);
      const crossSite = crossSiteRefusal(deps, auth, headers);
      if (crossSite) return answerSocket(socket, 403, crossSite);
      const admission = await admitStream(deps, auth);
      if (!admission.ok) return answerSocket(socket, admission.status, admission.error, admission.headers);
      const { lease } = admission;
      // However the socket ends (even before the handshake completes), the stream stops counting.
      socket.once('close', () => void lease?.release());
      await deps.hub.start();
      wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
        // A malformed frame from the client arrives as 'error' after ws has begun closing the
        // connection (1002/1007/1009); without a listener the emitter would throw it out of
        // the process.
        ws.on('error', () => {});
        let alive = true;
        const heartbeat = setInterval(() => {
          if (!alive) return ws.terminate();
          alive = false;
          ws.ping();
        }, HEARTBEAT_MS);
        heartbeat.unref();
        ws.on('pong', () => {
          alive = true;
        });
        let stop: () => void = () => {};
        ws.on('close', () => {
          clearInterval(heartbeat);
          void lease?.release();
          stop();
        });
        void openStream(deps, executionId, resumePoint(new Headers(), url), auth.include, {
          transport: 'websocket',
          send(events) {
            if (ws.readyState !== ws.OPEN) return false;
            if (socket.writableLength + ws.bufferedAmount > MAX_BUFFERED_BYTES) {
              ws.terminate();
              return false;
            }
            // Pre-framed text frames written straight to the socket this server upgraded: the
            // frame bytes are shared by every subscriber instead of framed per client.
            socket.write(batchFrames(events));
            return true;
          },
          close() {
            if (ws.readyState === ws.OPEN) ws.close(1000, 'execution finished');
          },
        }).then(
          (finish) => {
            stop = finish;
            // The client left while the state was read.
            if (ws.readyState !== ws.OPEN) return finish();
            lease?.onEnd((end) => {
              if (ws.readyState === ws.OPEN) ws.close(end.code, end.reason);
              finish();
            });
          },
          () => ws.close(1011, 'stream failed'),
        );
      });
    } catch {
      answerSocket(socket, 500, 'Internal server error');
    }
  };
}
