/**
 * The one guard between Node's HTTP server and everything that handles a request or an
 * upgrade: no request, however malformed, may throw out of a listener (an exception there
 * ends the process, and with it every other client). A target that is not a parseable,
 * decodable path answers 400 before any handler sees it; whatever still throws answers 500
 * (or closes that socket) and is logged; errors on raw sockets (upgrades, half-open
 * connections) are handled; the parser's own refusals answer 400/431 in JSON.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { answerSocket, isHttpsRequest, securityHeaders, type TransportPolicy } from '@strata/api';
import type { Logger } from '@strata/config';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;


/** Answers a request with a JSON `{ error }` body (and closes the connection: the client misbehaved). */
export function answerJson(res: ServerResponse, status: number, error: string) {
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
}

/**
 * The request's path and query as a URL, or why it cannot be served: the target must be
 * origin-form (`/path?query`) and its path must percent-decode. This app is no proxy: an
 * absolute-form or asterisk-form target is refused too.
 */
export function parseTarget(req: IncomingMessage): { ok: true; url: URL } | { ok: false; error: string } {
  const target = req.url ?? '';
  // `//host/...` would parse as an authority rather than a path.
  if (!target.startsWith('/') || target.startsWith('//')) return { ok: false, error: 'Malformed request target' };
  let url: URL;
  try {
    url = new URL(target, 'http://localhost');
  } catch {
    return { ok: false, error: 'Malformed request target' };
  }
  try {
    decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, error: 'Malformed percent-encoding in the request path' };
  }
  return { ok: true, url };
}

function answerRequest(res: ServerResponse, status: number, error: string) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  answerJson(res, status, error);
}

function describe(req: IncomingMessage) {
  return { method: req.method, url: req.url?.slice(0, 200), remote: req.socket.remoteAddress };
}

/** Calls a listener; whatever it throws or rejects with goes to `fail`, never further. */
function runCaught(call: () => unknown, fail: (error: unknown) => void) {
  try {
    const result = call();
    if (result instanceof Promise) result.catch(fail);
  } catch (error) {
    fail(error);
  }
}

/**
 * Sets the security headers on a Node response before anyone writes it: what bypasses
 * SvelteKit (static files, the event stream, this guard's own answers) carries them too, and
 * whatever SvelteKit then sets (a page's own Content-Security-Policy) replaces them.
 */
export function setSecurityHeaders(req: IncomingMessage, res: ServerResponse, transport: TransportPolicy) {
  const proto = req.headers['x-forwarded-proto'];
  for (const [name, value] of securityHeaders(isHttpsRequest(Array.isArray(proto) ? proto[0] : proto, transport))) res.setHeader(name, value);
}

/**
 * Wraps the request listener: every response gets the security headers, bad targets answer
 * 400, throws and rejections answer 500.
 */
export function guardRequests(logger: Logger, transport: TransportPolicy, listener: RequestListener): RequestListener {
  return (req, res) => {
    setSecurityHeaders(req, res, transport);
    const target = parseTarget(req);
    if (!target.ok) {
      logger.warn(describe(req), `malformed request refused: ${target.error}`);
      return answerRequest(res, 400, target.error);
    }
    runCaught(
      () => listener(req, res),
      (error) => {
        logger.error({ ...describe(req), err: error }, 'request handler failed');
        answerRequest(res, 500, 'Internal server error');
      },
    );
  };
}

/** Wraps the upgrade listener: the socket's errors are handled from the start, nothing throws. */
export function guardUpgrades(logger: Logger, listener: UpgradeListener): UpgradeListener {
  return (req, socket, head) => {
    // Node removes its own error listener from a socket it hands over for an upgrade: a client
    // that resets the connection while the upgrade is being authorised would crash the process.
    socket.on('error', (error) => {
      logger.debug({ ...describe(req), err: error }, 'upgrade socket error');
      socket.destroy();
    });
    const target = parseTarget(req);
    if (!target.ok) {
      logger.warn(describe(req), `malformed upgrade refused: ${target.error}`);
      return answerSocket(socket, 400, target.error);
    }
    runCaught(
      () => listener(req, socket, head),
      (error) => {
        logger.error({ ...describe(req), err: error }, 'upgrade handler failed');
        answerSocket(socket, 500, 'Internal server error');
      },
    );
  };
}

/**
 * What the HTTP parser refuses (bad request lines, headers, framing; header blocks over the
 * limit) answers 400 or 431 in JSON and the socket is closed, as Node would, but logged.
 */
export function answerClientErrors(server: Server, logger: Logger) {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    logger.warn({ code: error.code, remote: (socket as { remoteAddress?: string }).remoteAddress }, `malformed request refused: ${error.message}`);
    answerSocket(socket, status, status === 431 ? 'Request header fields too large' : status === 408 ? 'Request timeout' : 'Bad request');
  });
}
