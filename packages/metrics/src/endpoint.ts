import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@strata/config';
import type { StrataMetrics } from './registry.ts';

export const METRICS_PATH = '/metrics';

/**
 * Whether a scrape may read the metrics: with no token configured, anyone who reaches the port
 * may (bind it to loopback or a private network); with one, only `Authorization: Bearer <token>`.
 * Compared as SHA-256 digests in constant time, so neither the token nor its length leaks.
 */
export function scrapeAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!.trim()), digest(token));
}

/** The metrics in Prometheus's text format, after the scrape-time readers ran (a failing one is logged; its gauges keep their last values). */
export async function renderMetrics(metrics: StrataMetrics, logger?: Logger): Promise<string> {
  const results = await Promise.allSettled([...metrics.refreshers].map((refresh) => refresh()));
  for (const result of results) if (result.status === 'rejected') logger?.warn({ err: result.reason }, 'metrics: reading state gauges failed');
  return metrics.registry.metrics();
}

export interface MetricsEndpointOptions {
  metrics: StrataMetrics;
  /** METRICS_TOKEN: when set, a scrape needs it as a Bearer token. */
  token: string | undefined;
  logger?: Logger;
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(body);
}

/** Serves `GET /metrics` (401 without the token when one is set); false for any other path, for the caller to handle. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, options: MetricsEndpointOptions): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    answer(res, 405, '{"error":"Method not allowed"}', { allow: 'GET, HEAD' });
    return true;
  }
  if (!scrapeAllowed(req.headers.authorization, options.token)) {
    answer(res, 401, '{"error":"Unauthorized"}', { 'www-authenticate': 'Bearer realm="metrics"' });
    return true;
  }
  renderMetrics(options.metrics, options.logger).then(
    (text) => {
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (error: unknown) => {
      options.logger?.error({ err: error }, 'metrics: scrape failed');
      if (!res.headersSent) answer(res, 500, '{"error":"Internal server error"}');
      else res.destroy();
    },
  );
  return true;
}
