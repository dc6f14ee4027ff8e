import { hostname } from 'node:os';
import { AGENT_TYPES, type AgentType, randomId } from '@strata/db';
import type { Logger } from '@strata/config';
import type { PgBoss } from 'pg-boss';
import type { AgentRegistry } from './agent.ts';
import type { EngineContext } from './context.ts';
import { runTask } from './executor.ts';
import { DEFAULT_RESULT_MAX_BYTES, defaultDependenciesMaxBytes } from './limits.ts';
import { agentQueue, ensureAgentQueues, taskJobSchema } from './queue.ts';
import { reapExpiredLeases, refreshStalledHealth, requeueLostJobs } from './recovery.ts';
import { type AttemptOutcome, claimTasks, loadDependencyResults, recordOutcomes, renewLeases } from './runner.ts';

export interface QueueSettings {
  /** Jobs fetched (and run) together; one claim and one completion transaction per batch. */
  batchSize: number;
  /** Batches in flight at once in this process. */
  localConcurrency: number;
}

export interface EngineWorkerOptions {
  boss: PgBoss;
  ctx: EngineContext;
  registry: AgentRegistry;
  logger: Logger;
  leaseSeconds: number;
  /** Per agent type; the default applies to types not listed. */
  queues?: Partial<Record<AgentType, QueueSettings>>;
  defaultQueue?: QueueSettings;
  /** How often this worker sweeps for lapsed leases and lost jobs. */
  sweepIntervalMs?: number;
  workerId?: string;
  /** A task's result over this many bytes (as JSON) fails its attempt without retry. Default 1 MiB. */
  resultMaxBytes?: number;
  /** A task whose dependencies' results hold more than this together fails without retry. Default: see limits.ts. */
  dependenciesMaxBytes?: number;
}

export interface EngineWorker {
  workerId: string;
  /** Stops fetching, lets in-flight tasks finish and record, then stops the timers. */
  stop(): Promise<void>;
}

const RECORD_RETRY_MAX_MS = 5_000;
const RECORD_GIVE_UP_MS = 10 * 60_000;

/**
 * Runs tasks from the agent queues: claim a batch under a lease, run the agents with their
 * timeouts, record the outcomes in one transaction. A heartbeat keeps the leases of running
 * tasks alive; a periodic sweep recovers the tasks of workers that died.
 */
export async function startEngineWorker(options: EngineWorkerOptions): Promise<EngineWorker> {
  const { boss, ctx, registry, logger, leaseSeconds } = options;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomId(6)}`;
  const running = new Map<string, { id: string; attempt: number; controller: AbortController }>();
  const defaults = options.defaultQueue ?? { batchSize: 1, localConcurrency: 10 };
  const resultMaxBytes = options.resultMaxBytes ?? DEFAULT_RESULT_MAX_BYTES;
  const limits = { resultMaxBytes, dependenciesMaxBytes: options.dependenciesMaxBytes ?? defaultDependenciesMaxBytes(resultMaxBytes) };
  let stopping = false;
  /** `taskId:attempt` of attempts whose lease this worker lost. */
  const lost = new Set<string>();

  await ensureAgentQueues(boss);

  const recordWithRetry = async (outcomes: AttemptOutcome[]) => {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await recordOutcomes(ctx, outcomes);
        return;
      } catch (error) {
        if (Date.now() - started > RECORD_GIVE_UP_MS) throw error;
        const delay = Math.min(RECORD_RETRY_MAX_MS, 100 * 2 ** attempt);
        logger.warn({ err: error, attempt, delay }, 'could not record task outcomes; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  const handleBatch = async (jobs: { data: unknown }[]) => {
    const claimed = await claimTasks(
      ctx,
      jobs.map((job) => taskJobSchema.parse(job.data)),
      workerId,
      leaseSeconds,
    );
    if (claimed.length === 0) return;
    const controllers = claimed.map((task) => {
      const controller = new AbortController();
      running.set(task.id, { id: task.id, attempt: task.attempt, controller });
      return controller;
    });
    try {
      const { results, refused } = await loadDependencyResults(ctx, claimed, limits.dependenciesMaxBytes);
      const outcomes = await Promise.all(
        claimed.map((task, i): AttemptOutcome | Promise<AttemptOutcome> => {
          const error = refused.get(task.id);
          if (error) return { taskId: task.id, executionId: task.executionId, attempt: task.attempt, ok: false, error, retryable: false };
          return runTask(ctx, registry, task, results, controllers[i]!, limits);
        }),
      );
      // Attempts whose lease this worker lost are not recorded: their retry is already under way.
      const current = outcomes.filter((o) => !lost.has(`${o.taskId}:${o.attempt}`));
      await recordWithRetry(current);
    } finally {
      for (const task of claimed) running.delete(task.id);
    }
  };

  for (const agentType of AGENT_TYPES) {
    const settings = options.queues?.[agentType] ?? defaults;
    // One pg-boss worker per slot, each waking itself after a batch so a backlog drains without
    // waiting out a polling interval between jobs (pg-boss only bursts on full batches > 1).
    for (let slot = 0; slot < settings.localConcurrency; slot++) {
      let self: string | undefined;
      self = await boss.work(
        agentQueue(agentType),
        {
          batchSize: settings.batchSize,
          localConcurrency: 1,
          burstWhenBatchFull: settings.batchSize > 1,
          // NOTIFY wakes workers for jobs that can run now; a delayed retry is found by polling.
          pollingIntervalSeconds: 1,
          notifyPollingIntervalSeconds: 1,
        },
        async (jobs) => {
          try {
            await handleBatch(jobs);
          } finally {
            if (jobs.length > 0 && self && !stopping) boss.notifyWorker(self);
          }
        },
      );
    }
  }

  const heartbeat = setInterval(
    () => {
      const held = [...running.values()].map(({ id, attempt }) => ({ id, attempt }));
      renewLeases(ctx, workerId, held, leaseSeconds)
        .then((gone) => {
          for (const id of gone) {
            const task = running.get(id);
            if (!task) continue;
            lost.add(`${id}:${task.attempt}`);
            task.controller.abort(new Error('Lease lost: the task was taken over'));
          }
        })
        .catch((error) => logger.warn({ err: error }, 'lease renewal failed'));
    },
    Math.max(1000, (leaseSeconds * 1000) / 3),
  );
  heartbeat.unref();

  let sweeping = false;
  const sweep = async () => {
    if (sweeping || stopping) return;
    sweeping = true;
    try {
      const reaped = await reapExpiredLeases(ctx, leaseSeconds);
      const requeued = await requeueLostJobs(ctx, leaseSeconds);
      await refreshStalledHealth(ctx);
      if (reaped || requeued) logger.info({ reaped, requeued }, 'recovered tasks');
    } catch (error) {
      logger.warn({ err: error }, 'recovery sweep failed');
    } finally {
      sweeping = false;
    }
  };
  const sweeper = setInterval(() => void sweep(), options.sweepIntervalMs ?? 5000);
  sweeper.unref();
  void sweep();

  logger.info({ workerId, agentTypes: AGENT_TYPES }, 'engine worker running');
  return {
    workerId,
    stop: async () => {
      stopping = true;
      clearInterval(sweeper);
      await Promise.all(AGENT_TYPES.map((type) => boss.offWork(agentQueue(type), { wait: true })));
      clearInterval(heartbeat);
    },
  };
}
