import { assertRuntime, onParentExit, surviveConnectionLoss } from '@strata/config/runtime';

assertRuntime();

const { createLogger, loadConfigOrExit } = await import('@strata/config');
const { createDatabase, runMigrations } = await import('@strata/db');
const { builtInRegistry, loadAgentModules } = await import('@strata/agents');
const { engineSettings, startWorker } = await import('./worker.ts');

const config = loadConfigOrExit();
const logger = createLogger('worker', config.LOG_LEVEL, config.LOG_FORMAT);
surviveConnectionLoss((error) => logger.warn({ err: error }, 'database connection lost; reconnecting'));

if (!config.DATABASE_URL) {
  logger.fatal('DATABASE_URL is not set. Run `pnpm start` or `pnpm start:worker`, which provide the embedded PostgreSQL, or set DATABASE_URL.');
  process.exit(1);
}

// The built-in agents; STRATA_AGENT_MODULES may replace any of them.
const agentDatabase = createDatabase(config.DATABASE_URL, { applicationName: 'strata-agents', max: 4 });
const registry = builtInRegistry({ config, db: agentDatabase.db });
try {
  await loadAgentModules(registry, config.STRATA_AGENT_MODULES, process.cwd());
} catch (error) {
  logger.fatal({ err: error }, 'could not load STRATA_AGENT_MODULES');
  process.exit(1);
}

await runMigrations(config.DATABASE_URL);
// Traces only when a collector is configured: otherwise no SDK is loaded at all.
const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT
  ? (await import('@strata/telemetry/sdk')).startTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME ?? 'strata-worker', scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY, headers: config.OTEL_EXPORTER_OTLP_HEADERS, timeoutMillis: config.OTEL_EXPORTER_OTLP_TIMEOUT })
  : undefined;
const worker = await startWorker({
  databaseUrl: config.DATABASE_URL,
  logger,
  shutdownTimeoutMs: config.WORKER_SHUTDOWN_TIMEOUT_MS,
  engine: engineSettings(config, registry),
  metrics: { port: config.WORKER_METRICS_PORT, host: config.HOST, token: config.METRICS_TOKEN },
});

let exiting = false;
async function shutdown(signal: NodeJS.Signals) {
  if (exiting) return;
  exiting = true;
  logger.info({ signal }, 'signal received');
  try {
    await worker.stop();
    await agentDatabase.close();
    // The spans of the attempts that just ended (and executions they settled) go out before exit.
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'worker did not stop cleanly');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Started by the launcher: leave with it, even if it was killed outright.
if (process.argv.includes('--supervised')) onParentExit(() => void shutdown('SIGTERM'));
