import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createStreamUpgradeHandler, EventHub, processEventHub, processStreamGuard, serveSse, StatusCache, StreamGuard, type StreamDeps } from '@strata/api';
import { type Logger, loadConfig } from '@strata/config';
import { createDatabase } from '@strata/db';

const STREAM_PATH = /^\/api\/executions\/([^/]+)\/stream\/?$/;

export interface StreamServer {
  /** Serves SSE for `GET /api/executions/:id/stream`; false for any other request. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

/**
 * The execution stream lives in the Node server around SvelteKit (production server.ts and the
 * dev plugin alike), so WebSocket and SSE share one event hub and one LISTEN connection per
 * process.
 */
export function createStreamServer(options: { databaseUrl: string; logger: Logger }): StreamServer {
  const database = createDatabase(options.databaseUrl, { applicationName: 'strata-web-stream', max: 10 });
  const config = loadConfig();
  const hub = processEventHub(() => new EventHub({ db: database.db, listenSql: database.sql, logger: options.logger }));
  const guard = processStreamGuard(() => new StreamGuard({ db: database.db, maxPerCredential: config.STREAM_MAX_PER_CREDENTIAL, logger: options.logger }));
  const deps: StreamDeps = { db: database.db, hub, statusCache: new StatusCache(), guard, rateLimits: { status: config.RATE_LIMIT_STATUS_PER_MIN }, origin: config.ORIGIN };
  const upgrade = createStreamUpgradeHandler(async () => deps);
  return {
    handleRequest(req, res) {
      const match = STREAM_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (!match || req.method !== 'GET') return false;
      serveSse(req, res, deps, decodeURIComponent(match[1]!)).catch((error: unknown) => {
        options.logger.error({ err: error }, 'stream failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"Internal server error"}');
        else res.destroy();
      });
      return true;
    },
    handleUpgrade(req, socket, head) {
      if (!STREAM_PATH.test(new URL(req.url ?? '/', 'http://localhost').pathname)) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 21\r\nConnection: close\r\n\r\n{"error":"Not found"}');
        return;
      }
      void upgrade(req, socket, head);
    },
    async close() {
      await guard.stop();
      await hub.stop();
      await database.close();
    },
  };
}
