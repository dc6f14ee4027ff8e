import type { IncomingMessage, ServerResponse } from 'node:http';
import { routeTemplate } from '@strata/api';
import type { Logger } from '@strata/config';
import { createDatabase } from '@strata/db';
import { currentRouteSlot } from '@strata/telemetry';
import { addStateGauges, countEngineEvents, observeHttpRequest, processMetrics, serveMetrics } from '@strata/metrics';

export interface WebMetrics {
  /** Counts the request by route template and status; answers it when it is `GET /metrics` (true). */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  close(): Promise<void>;
}

/**
 * The web process's metrics: every request counted and timed by route template, the engine calls
 * made here (starts, cancels) counted, the state gauges read from the database at scrape, and
 * `GET /metrics` guarded by METRICS_TOKEN when set.
 */
export function createWebMetrics(options: { databaseUrl: string; logger: Logger; token: string | undefined }): WebMetrics {
  const metrics = processMetrics();
  const database = createDatabase(options.databaseUrl, { applicationName: 'strata-web-metrics', max: 2 });
  countEngineEvents(metrics);
  const removeGauges = addStateGauges(metrics, database.db);
  return {
    handleRequest(req, res) {
      let pathname = '/';
      try {
        pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      } catch {
        // The guard refuses targets that do not parse before they get here.
      }
      const template = routeTemplate(req.method ?? 'GET', pathname);
      // A dashboard page is labelled with the SvelteKit route that served it (`/app/w/[workspaceId]`), a fixed set.
      const slot = template === 'page' ? currentRouteSlot() : undefined;
      observeHttpRequest(metrics, req, res, slot ? () => slot.route ?? 'page' : template);
      return serveMetrics(req, res, { metrics, token: options.token, logger: options.logger });
    },
    async close() {
      removeGauges();
      await database.close();
    },
  };
}
