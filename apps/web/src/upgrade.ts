import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const STREAM_PATH = /^\/api\/executions\/[^/]+\/stream(?:\?.*)?$/;

/**
 * WebSocket upgrades. The execution stream mounts here; until it does, every upgrade is
 * answered with a plain HTTP error instead of hanging.
 */
export function handleUpgrade(request: IncomingMessage, socket: Duplex, _head: Buffer): void {
  const status = STREAM_PATH.test(request.url ?? '') ? '501 Not Implemented' : '404 Not Found';
  const body = JSON.stringify({ error: status.slice(4) });
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
