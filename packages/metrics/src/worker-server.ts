import { createServer, type Server } from 'node:http';
import type { Logger } from '@strata/config';
import { type MetricsEndpointOptions, serveMetrics } from './endpoint.ts';

export interface MetricsServer {
  /** The port it listens on; null when it was off (port 0) or the port was taken. */
  port: number | null;
  close(): Promise<void>;
}

/**
 * A worker's own `GET /metrics` listener (WORKER_METRICS_PORT; 0 turns it off). A port another
 * process holds (a second worker on the same machine with the same setting) is not fatal: the
 * worker runs on without a metrics listener and says so, naming the setting to change.
 */
export async function startMetricsServer(options: MetricsEndpointOptions & { port: number; host: string; logger: Logger }): Promise<MetricsServer> {
  if (options.port === 0) return { port: null, close: async () => {} };
  const server: Server = createServer((req, res) => {
    if (!serveMetrics(req, res, options)) res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":"Not found"}');
  });
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(false);
      else reject(error);
    });
    server.listen(options.port, options.host, () => resolve(true));
  });
  if (!listening) {
    options.logger.warn(
      { port: options.port, host: options.host },
      `metrics: port ${options.port} is in use (another worker on this machine?); this worker serves no /metrics. Give each worker its own WORKER_METRICS_PORT.`,
    );
    return { port: null, close: async () => {} };
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.logger.info({ port, host: options.host }, `metrics on http://${options.host}:${port}/metrics`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
