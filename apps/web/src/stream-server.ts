import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { answerSocket, createStreamUpgradeHandler, EventHub, processEventHub, processStreamGuard, serveSse, StatusCache, StreamGuard, type StreamDeps, type TransportPolicy } from '@strata/api';
import { type Logger, loadConfig } from '@strata/config';
import { setHttpRoute } from '@strata/telemetry';
import { createDatabase } from '@strata/db';
import { answerJson, parseTarget, setSecurityHeaders } from './http-guard.ts';

const STREAM_PATH = /^\/api\/executions\/([^/]+)\/stream\/?$/;

/**
 * Whether a request is for the stream (null: it is not) and which execution it names. Never
 * throws: a target that does not parse or percent-decode is refused (400) here too, for the
 * dev server, where no guard stands in front of this module.
 */
function streamTarget(req: IncomingMessage): { ok: true; executionId: string } | { ok: false; error: string } | null {
  const target = parseTarget(req);
  if (!target.ok) return target;
  const match = STREAM_PATH.exec(target.url.pathname);
  if (!match) return null;
  try {
    return { ok: true, executionId: decodeURIComponent(match[1]!) };
  } catch {
    return { ok: false, error: 'Malformed percent-encoding in the request path' };
  }
}

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
export function createStreamServer(options: { databaseUrl: string; logger: Logger; transport: TransportPolicy }): StreamServer {
  const database = createDatabase(options.databaseUrl, { applicationName: 'strata-web-stream', max: 10 });
  const config = loadConfig();
  const hub = processEventHub(() => new EventHub({ db: database.db, listenSql: database.sql, logger: options.logger }));
  const guard = processStreamGuard(() => new StreamGuard({ db: database.db, maxPerCredential: config.STREAM_MAX_PER_CREDENTIAL, logger: options.logger }));
  const deps: StreamDeps = { db: database.db, hub, statusCache: new StatusCache(), guard, rateLimits: { status: config.RATE_LIMIT_STATUS_PER_MIN }, origin: config.ORIGIN };
  const upgrade = createStreamUpgradeHandler(async () => deps);
  return {
    handleRequest(req, res) {
      const target = streamTarget(req);
      if (!target || req.method !== 'GET') return false;
      setHttpRoute('/api/executions/:id/stream');
      // The stream bypasses SvelteKit and its hook: its answers get the headers here.
      setSecurityHeaders(req, res, options.transport);
      if (!target.ok) {
        options.logger.warn({ url: req.url?.slice(0, 200) }, `malformed request refused: ${target.error}`);
        answerJson(res, 400, target.error);
        return true;
      }
      serveSse(req, res, deps, target.executionId).catch((error: unknown) => {
        options.logger.error({ err: error }, 'stream failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"Internal server error"}');
        else res.destroy();
      });
      return true;
    },
    handleUpgrade(req, socket, head) {
      const target = streamTarget(req);
      if (!target) return answerSocket(socket, 404, 'Not found');
      if (!target.ok) {
        options.logger.warn({ url: req.url?.slice(0, 200) }, `malformed upgrade refused: ${target.error}`);
        return answerSocket(socket, 400, target.error);
      }
      upgrade(req, socket, head).catch((error: unknown) => {
        options.logger.error({ err: error }, 'stream upgrade failed');
        answerSocket(socket, 500, 'Internal server error');
      });
    },
    async close() {
      await guard.stop();
      await hub.stop();
      await database.close();
    },
  };
}
