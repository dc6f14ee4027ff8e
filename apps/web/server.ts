/**
 * The production entry: adapter-node's request handler inside our own HTTP server, so
 * WebSocket upgrades (the execution stream) and graceful shutdown are ours to handle.
 */
import { createServer } from 'node:http';
import { assertRuntime, onParentExit, surviveConnectionLoss } from '@strata/config/runtime';

assertRuntime();

const { loadConfigOrExit, createLogger } = await import('@strata/config');
const { runMigrations } = await import('@strata/db');
const config = loadConfigOrExit();
const logger = createLogger('web', config.LOG_LEVEL, config.LOG_FORMAT);
surviveConnectionLoss((error) => logger.warn({ err: error }, 'database connection lost; reconnecting'));

if (!config.DATABASE_URL) {
  logger.fatal('DATABASE_URL is not set. Run `pnpm start` or `pnpm start:web`, which provide the embedded PostgreSQL, or set DATABASE_URL.');
  process.exit(1);
}
await runMigrations(config.DATABASE_URL);

// Traces only when a collector is configured: otherwise no SDK is loaded at all.
const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT
  ? (await import('@strata/telemetry/sdk')).startTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME ?? 'strata-web', scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY, headers: config.OTEL_EXPORTER_OTLP_HEADERS, timeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT })
  : undefined;

// One body limit for every route: the API (REST and tRPC) answers 413 in its own shape at
// 1 MiB; SvelteKit bounds everything else (pages' form actions) at the same size.
const { MAX_BODY_BYTES } = await import('@strata/api');
// biome-ignore lint/style/noProcessEnv: adapter-node reads its own setting from the environment
process.env.BODY_SIZE_LIMIT = String(MAX_BODY_BYTES);
const { handler } = await import(new URL('./build/handler.js', import.meta.url).href).catch((error: unknown) => {
  logger.fatal({ err: error }, 'apps/web/build is missing: run `pnpm --filter @strata/web build` (pnpm start does it for you)');
  process.exit(1);
});
const { createStreamServer } = await import('./src/stream-server.ts');
const { answerClientErrors, guardRequests, guardUpgrades } = await import('./src/http-guard.ts');
const { scopeRequests, scopeUpgrades } = await import('./src/request-scope.ts');
const transport = { origin: config.ORIGIN, trustProxy: config.TRUST_PROXY };
const streams = createStreamServer({ databaseUrl: config.DATABASE_URL, logger, transport });
const { createWebMetrics } = await import('./src/web-metrics.ts');
const metrics = createWebMetrics({ databaseUrl: config.DATABASE_URL, logger, token: config.METRICS_TOKEN });

// Every request and upgrade passes the guard: a malformed one answers 400, nothing throws,
// every response carries the security headers. Around it, each request's id, log fields and span.
const server = createServer(scopeRequests(guardRequests(logger, transport, (req, res) => {
  if (metrics.handleRequest(req, res)) return;
  if (streams.handleRequest(req, res)) return;
  handler(req, res);
})));
server.on('upgrade', scopeUpgrades(guardUpgrades(logger, (req, socket, head) => streams.handleUpgrade(req, socket, head))));
answerClientErrors(server, logger);
server.keepAliveTimeout = 65_000;

server.listen(config.PORT, config.HOST, () => {
  logger.info({ port: config.PORT }, `web listening on http://localhost:${config.PORT}`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'web stopping');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  server.close();
  server.closeIdleConnections();
  await streams.close();
  await metrics.close();
  // adapter-node's own shutdown signal: server code closes its pools on it.
  process.emit('sveltekit:shutdown' as 'SIGTERM', signal as unknown as NodeJS.Signals);
  await new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.once('close', () => resolve());
    setTimeout(resolve, 5_000).unref();
  });
  server.closeAllConnections();
  await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Started by the launcher: leave with it, even if it was killed outright.
if (process.argv.includes('--supervised')) onParentExit(() => void shutdown('SIGTERM'));
