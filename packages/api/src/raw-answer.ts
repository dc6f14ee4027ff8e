import type { Duplex } from 'node:stream';
import { upgradeRequestId } from './request-id.ts';

/**
 * Answers on a raw socket that no ServerResponse owns (refused upgrades, parser errors): one
 * complete HTTP/1.1 response with a JSON `{ error }` body, then the connection closes.
 */
const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

/** A complete HTTP/1.1 response with a JSON `{ error }` body, for sockets no ServerResponse owns. */
export function rawJsonResponse(status: number, error: string, headers: Record<string, string> = {}): string {
  const body = JSON.stringify({ error });
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}

/** Ends a raw socket with a JSON answer, or destroys it when nothing more can be written. */
export function answerSocket(socket: Duplex, status: number, error: string, headers: Record<string, string> = {}) {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = upgradeRequestId(socket);
  socket.end(rawJsonResponse(status, error, requestId ? { 'X-Request-Id': requestId, ...headers } : headers));
  // A client that never reads the answer does not keep the socket.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
