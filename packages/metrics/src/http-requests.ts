import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StrataMetrics } from './registry.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts one request and its latency when its response ends (or its connection closes first).
 * `routeOf` is the request's route template (`/api/executions/:id`), or reads it when the response
 * ends; never the raw path: the label
 * values stay a small, fixed set whatever clients send.
 */
export function observeHttpRequest(metrics: StrataMetrics, req: IncomingMessage, res: ServerResponse, routeOf: string | (() => string)): void {
  const started = process.hrtime.bigint();
  const method = METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
  let done = false;
  const record = () => {
    if (done) return;
    done = true;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Read at the end: a page's route is known only once SvelteKit has matched it.
    const route = typeof routeOf === 'string' ? routeOf : routeOf();
    // A connection that closed before any answer was written: 499, as proxies log it.
    const status = res.headersSent ? String(res.statusCode) : '499';
    metrics.httpRequests.inc({ method, route, status });
    metrics.httpDuration.observe({ method, route }, seconds);
  };
  res.once('finish', record);
  res.once('close', record);
}
