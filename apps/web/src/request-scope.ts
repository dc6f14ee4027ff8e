/**
 * Where every request enters the web process, before the guard: it gets its id (the caller's
 * X-Request-Id when sane, a new one otherwise), returned on the response whatever answers it
 * (pages, REST, tRPC, the event stream, the guard's own refusals); every line logged while it
 * is served carries that id; and with tracing on, its server span, named after the route a
 * handler recognised (setHttpRoute) and ended with the status when the response is done.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { REQUEST_ID_HEADER, requestIdOf, tagUpgradeSocket } from '@strata/api';
import { withLogFields } from '@strata/config';
import { endRequestSpan, otelContext, startRequestSpan, withRouteSlot } from '@strata/telemetry';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Runs `next` in the request's scope (id, log fields, span); for the Node server and vite's dev middleware alike. */
export function inRequestScope<T>(req: IncomingMessage, res: ServerResponse, next: () => T): T {
  const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  const run = () => withRouteSlot(() => withLogFields({ requestId }, next));
  const traced = startRequestSpan({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!.slice(0, 2048), headers: req.headers, requestId });
  if (!traced) return run();
  // 'close' comes after the response is sent and when the client leaves early alike.
  res.once('close', () => endRequestSpan(traced.span, res.statusCode));
  return otelContext.with(traced.context, run);
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

/** The same for upgrades (the WebSocket stream): the id goes on the 101 or the refusal, and on every line logged for it. */
export function scopeUpgrades(listener: UpgradeListener): UpgradeListener {
  return (req, socket, head) => {
    const requestId = requestIdOf(req.headers[REQUEST_ID_HEADER]);
    tagUpgradeSocket(socket, requestId);
    return withLogFields({ requestId }, () => listener(req, socket, head));
  };
}

export function scopeRequests(listener: RequestListener): RequestListener {
  return (req, res) => inRequestScope(req, res, () => listener(req, res));
}
