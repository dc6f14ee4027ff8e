import type { Config, Logger } from '@strata/config';
import { type AgentType, createDatabase } from '@strata/db';
import {
  AgentRegistry,
  DEFAULT_WEBHOOK_RETRY,
  type EngineWorker,
  type Maintenance,
  pgBossTaskQueue,
  type QueueSettings,
  type ScheduleTicker,
  startEngineWorker,
  startMaintenance,
  startScheduleTicker,
  startWebhookDeliveryWorker,
  testWebhookRetry,
  type WebhookDeliverySettings,
  type WebhookDeliveryWorker,
} from '@strata/engine';
import { addStateGauges, countEngineEvents, type MetricsServer, processMetrics, startMetricsServer } from '@strata/metrics';
import { allowListSet } from '@strata/net';
import type { PgBoss } from 'pg-boss';
import { createBoss } from './boss.ts';
import { retentionTasks } from './retention.ts';

export interface WorkerOptions {
  databaseUrl: string;
  logger: Logger;
  /** How long stop() waits for in-flight jobs before giving up on them. */
  shutdownTimeoutMs: number;
  /** Registers extra queues and handlers once pg-boss is up. */
  register?: (boss: PgBoss) => Promise<void>;
  /** Runs the execution engine's task queues with these agents and settings. */
  engine?: {
    registry: AgentRegistry;
    leaseSeconds: number;
    retry: { baseMs: number; maxMs: number };
    defaultQueue: QueueSettings;
    queues: Partial<Record<AgentType, QueueSettings>>;
    sweepIntervalMs: number;
    /** TASK_RESULT_MAX_BYTES: a bigger result fails its attempt without retry. */
    resultMaxBytes: number;
    /** The rolling window of perMinute limits (tests shorten it; default 60 s). */
    limitWindowMs?: number;
    /** STRATEGY_MAX_DEPTH: how deep child executions may nest. */
    strategyMaxDepth: number;
    /** RETENTION_DAYS: finished executions' event logs are pruned after this many days (0: never). */
    retentionDays: number;
    /** The webhook delivery queue: allowed private hosts, an attempt's deadline, the retry schedule and how often due retries are looked for. */
    webhooks: WebhookDeliverySettings & { pollSeconds: number };
  };
  /** This worker's `GET /metrics` listener (WORKER_METRICS_PORT on HOST; port 0: none), guarded by METRICS_TOKEN when set. */
  metrics?: { port: number; host: string; token: string | undefined };
}

export interface Worker {
  boss: PgBoss;
  engine: EngineWorker | undefined;
  /** The port its metrics listener took; null when off or taken by another process. */
  metricsPort: number | null;
  stop(): Promise<void>;
}

/** The engine settings a worker process takes from configuration. */
export function engineSettings(config: Config, registry: AgentRegistry): NonNullable<WorkerOptions['engine']> {
  // Types without a setting of their own (approval, strategy) take WORKER_CONCURRENCY.
  const perType: Partial<Record<AgentType, number>> = {
    email: config.WORKER_CONCURRENCY_EMAIL,
    content: config.WORKER_CONCURRENCY_CONTENT,
    research: config.WORKER_CONCURRENCY_RESEARCH,
    scheduling: config.WORKER_CONCURRENCY_SCHEDULING,
    analysis: config.WORKER_CONCURRENCY_ANALYSIS,
    coordination: config.WORKER_CONCURRENCY_COORDINATION,
  };
  const queues: Partial<Record<AgentType, QueueSettings>> = {};
  for (const [type, concurrency] of Object.entries(perType) as [AgentType, number | undefined][]) {
    if (concurrency) queues[type] = { batchSize: config.WORKER_BATCH_SIZE, localConcurrency: concurrency };
  }
  return {
    registry,
    leaseSeconds: config.TASK_LEASE_SECONDS,
    retry: { baseMs: config.TASK_RETRY_BASE_MS, maxMs: config.TASK_RETRY_MAX_MS },
    defaultQueue: { batchSize: config.WORKER_BATCH_SIZE, localConcurrency: config.WORKER_CONCURRENCY },
    queues,
    sweepIntervalMs: config.WORKER_SWEEP_INTERVAL_MS,
    resultMaxBytes: config.TASK_RESULT_MAX_BYTES,
    ...(config.STRATA_TEST_LIMIT_WINDOW_MS ? { limitWindowMs: config.STRATA_TEST_LIMIT_WINDOW_MS } : {}),
    strategyMaxDepth: config.STRATEGY_MAX_DEPTH,
    retentionDays: config.RETENTION_DAYS,
    webhooks: {
      allowHosts: allowListSet(config.WEBHOOK_ALLOW_HOSTS),
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retry: config.STRATA_TEST_WEBHOOK_RETRY_MS ? testWebhookRetry(config.STRATA_TEST_WEBHOOK_RETRY_MS) : DEFAULT_WEBHOOK_RETRY,
      pollSeconds: config.STRATA_TEST_WEBHOOK_RETRY_MS ? 0.5 : 5,
    },
  };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { logger } = options;
  const boss = createBoss(options.databaseUrl);
  boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
  boss.on('warning', (warning) => logger.warn({ warning }, 'pg-boss warning'));
  await boss.start({ attempts: 5 });
  await options.register?.(boss);

  const database = options.engine ? createDatabase(options.databaseUrl, { applicationName: 'strata-worker', max: 10 }) : undefined;
  let engine: EngineWorker | undefined;
  let ticker: ScheduleTicker | undefined;
  let maintenance: Maintenance | undefined;
  let webhooks: WebhookDeliveryWorker | undefined;
  if (options.engine && database) {
    const ctx = { db: database.db, queue: pgBossTaskQueue(boss), retry: options.engine.retry, children: { maxDepth: options.engine.strategyMaxDepth }, limitWindowMs: options.engine.limitWindowMs };
    engine = await startEngineWorker({
      boss,
      ctx,
      registry: options.engine.registry,
      logger,
      leaseSeconds: options.engine.leaseSeconds,
      defaultQueue: options.engine.defaultQueue,
      queues: options.engine.queues,
      sweepIntervalMs: options.engine.sweepIntervalMs,
      resultMaxBytes: options.engine.resultMaxBytes,
    });
    // Every worker runs the schedules' ticker: each tick starts once whichever process takes it.
    ticker = startScheduleTicker({ ctx, logger });
    // Every worker runs retention too: each prune task runs once per period whichever worker claims it.
    maintenance = startMaintenance({ db: database.db, tasks: retentionTasks(database.db, { retentionDays: options.engine.retentionDays }), logger });
    // Webhook deliveries run on their own queue beside the agents' (the engine's claims never see them).
    webhooks = await startWebhookDeliveryWorker({ boss, ctx, logger, ...options.engine.webhooks });
  }
  const metrics = processMetrics();
  countEngineEvents(metrics);
  const removeGauges = database ? addStateGauges(metrics, database.db) : undefined;
  let metricsServer: MetricsServer | undefined;
  if (options.metrics) metricsServer = await startMetricsServer({ metrics, logger, ...options.metrics });
  logger.info({ agents: options.engine?.registry.types() ?? [] }, 'worker ready');

  let stopping: Promise<void> | undefined;
  return {
    boss,
    engine,
    metricsPort: metricsServer?.port ?? null,
    stop: () => {
      stopping ??= (async () => {
        logger.info({ timeoutMs: options.shutdownTimeoutMs }, 'worker stopping: finishing in-flight jobs');
        const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownTimeoutMs).unref());
        if (ticker) await Promise.race([ticker.stop(), deadline]);
        if (maintenance) await Promise.race([maintenance.stop(), deadline]);
        if (engine) await Promise.race([engine.stop(), deadline]);
        if (webhooks) await Promise.race([webhooks.stop(), deadline]);
        await boss.stop({ graceful: true, timeout: options.shutdownTimeoutMs, close: true });
        await metricsServer?.close();
        removeGauges?.();
        await database?.close();
        logger.info('worker stopped');
      })();
      return stopping;
    },
  };
}

export { AgentRegistry };
