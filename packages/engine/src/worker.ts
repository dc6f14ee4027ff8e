import { hostname } from 'node:os';
import { AGENT_TYPES, type AgentType, randomId } from '@strata/db';
import { type Logger, withLogFields, withoutLogFields } from '@strata/config';
import { endAttemptSpan, type ExecutionTrace, otelContext, startAttemptSpan } from '@strata/telemetry';
import type { PgBoss } from 'pg-boss';
import type { AgentRegistry } from './agent.ts';
import type { EngineContext } from './context.ts';
import { cancelOrphanedChildren } from './children/orphans.ts';
import { HandBack, runTask } from './executor.ts';
import { hookPoint } from './hooks.ts';
import { DEFAULT_RESULT_MAX_BYTES, defaultDependenciesMaxBytes, JSONB_MAX_BYTES } from './limits.ts';
import { agentQueue, ensureAgentQueues, taskJobSchema } from './queue.ts';
import { rebaseQueues } from './fair-queue.ts';
import { reapExpiredLeases, refreshStalledHealth, requeueLostJobs } from './recovery.ts';
import { flushOwedStats } from './stats-flush.ts';
import { pruneLimitStarts } from './throttle/release.ts';
import { attemptOutcomeName, executionTraces } from './tracing.ts';
import {
  type AttemptOutcome,
  attemptKey,
  type ClaimedTask,
  claimTasks,
  type DependencyResult,
  type EagerDispatch,
  loadDependencyResults,
  recordOutcomesIsolated,
  renewLeases,
} from './runner.ts';

export interface QueueSettings {
  /** Jobs fetched (and claimed) together; outcomes that finish together are recorded together. */
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
  /** How often this worker emits the health/metrics pair owed after coalescing (stats-flush.ts). Default 1 s. */
  statsFlushIntervalMs?: number;
  workerId?: string;
  /** A task's result over this many bytes (as JSON) fails its attempt without retry. Default 1 MiB. */
  resultMaxBytes?: number;
  /** A task whose dependencies' results hold more than this together fails without retry. Default: see limits.ts. */
  dependenciesMaxBytes?: number;
  /** Runs a dependent an outcome releases in the lane that outcome frees (runner.ts, EagerDispatch). Default true. */
  eagerDispatch?: boolean;
}

export interface EngineWorker {
  workerId: string;
  /**
   * Stops fetching, aborts the running agents (their signal) and hands their tasks back to the
   * queue without charging an attempt, records what finished, then stops the timers.
   */
  stop(): Promise<void>;
  /** What this worker holds now (for tests and diagnostics): running attempts and lost ones not yet finished. */
  inFlight(): { running: string[]; lost: string[] };
}

const RECORD_RETRY_MAX_MS = 5_000;
const RECORD_GIVE_UP_MS = 10 * 60_000;
/** Retries of a claim or a dependency load that failed on the database, before giving the job up. */
const INFRA_RETRY_DELAYS_MS = [100, 300, 1000, 2000];

/** How often one idle slot per agent queue fetches, for jobs that became due without a NOTIFY (see the fetch loops). */
const DUE_POLL_MS = 1000;
/** How often every slot fetches on its own: NOTIFY, its siblings and the due poll wake it sooner. */
const SLOT_SAFETY_POLL_SECONDS = 30;

/** How long a lane may go on with eagerly claimed tasks before it hands back to the queue (its job expires after the task's timeout + 120 s). */
const EAGER_LANE_MAX_MS = 60_000;

type Recorder = (outcome: AttemptOutcome, lane?: AgentType) => Promise<ClaimedTask | undefined>;

/** One attempt of one task running here: its abort switch, the agent's own end, and the end of its run here (`left`). */
type RunningAttempt = { task: ClaimedTask; controller: AbortController; agentDone: Promise<unknown>; left: PromiseWithResolvers<void>; trace?: ExecutionTrace | undefined };

/**
 * Runs tasks from the agent queues: claim a batch under a lease, run the agents with their
 * timeouts, record each outcome as soon as it is there (outcomes that finish together share a
 * transaction). A heartbeat keeps the leases of running attempts alive; a periodic sweep
 * recovers the tasks of workers that died.
 *
 * Attempts are tracked by (task, attempt). A lease this worker can no longer renew aborts its
 * attempt at once, and its outcome is dropped; a later attempt of the same task claimed here
 * waits until the earlier attempt's agent has really ended (it is aborted first), so one
 * worker never runs two attempts of a task at once.
 */
export async function startEngineWorker(options: EngineWorkerOptions): Promise<EngineWorker> {
  const { boss, ctx, registry, logger, leaseSeconds } = options;
  const eagerDispatch = options.eagerDispatch ?? true;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomId(6)}`;
  const running = new Map<string, RunningAttempt>();
  const defaults = options.defaultQueue ?? { batchSize: 1, localConcurrency: 10 };
  const resultMaxBytes = Math.min(options.resultMaxBytes ?? DEFAULT_RESULT_MAX_BYTES, JSONB_MAX_BYTES);
  const limits = { resultMaxBytes, dependenciesMaxBytes: options.dependenciesMaxBytes ?? defaultDependenciesMaxBytes(resultMaxBytes) };
  let stopping = false;
  /** Attempts (`attemptKey`) whose lease this worker lost; pruned when the attempt ends here. */
  const lost = new Set<string>();
  /**
   * This worker's own view of the database: when its last renewal or sweep failed. After a lost
   * database (a restart, a failover) every lease looks lapsed; the sweep takes nothing for one
   * lease period after this worker got the database back, so live workers can renew first.
   */
  let lastDatabaseFailure: number | undefined;
  let renewalFailed = false;
  const databaseSettled = () => lastDatabaseFailure === undefined || Date.now() - lastDatabaseFailure > leaseSeconds * 1000;

  await ensureAgentQueues(boss);

  /** Retries an infrastructure step (a claim, a dependency load) a few times; the last error is thrown. */
  const withInfraRetry = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        const delay = INFRA_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) throw error;
        logger.warn({ err: error, attempt, delay }, `${what} failed; retrying`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  const recordWithRetry = async (outcomes: AttemptOutcome[], lanes: EagerDispatch['lanes']): Promise<ClaimedTask[]> => {
    const started = Date.now();
    const eager = Object.keys(lanes).length > 0 ? { workerId, leaseSeconds, lanes } : undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await hookPoint('worker:before-record', { taskIds: outcomes.map((o) => o.taskId), outcomes });
        // A repeat may follow a commit whose acknowledgement was lost: it picks up what that one claimed.
        const { claimed } = await recordOutcomesIsolated(ctx, outcomes, eager && { ...eager, repeat: attempt > 1 });
        return claimed;
      } catch (error) {
        if (Date.now() - started > RECORD_GIVE_UP_MS) throw error;
        const delay = Math.min(RECORD_RETRY_MAX_MS, 100 * 2 ** attempt);
        logger.warn({ err: error, attempt, delay }, 'could not record task outcomes; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  /**
   * Records outcomes as they arrive: those that arrive in the same turn of the event loop (or
   * while a recording is under way) go into one transaction, so a fast task never waits for a
   * slow batch-mate and a batch of fast tasks still commits once.
   */
  const createRecorder = () => {
    let pending: { outcome: AttemptOutcome; lane?: AgentType; done: PromiseWithResolvers<ClaimedTask | undefined> }[] = [];
    let scheduled = false;
    const flush = async () => {
      while (pending.length > 0) {
        const batch = pending;
        pending = [];
        try {
          const lanes: EagerDispatch['lanes'] = {};
          for (const p of batch) if (p.lane) lanes[p.lane] = (lanes[p.lane] ?? 0) + 1;
          const claimed = await recordWithRetry(
            batch.map((p) => p.outcome),
            lanes,
          );
          // Each task claimed eagerly goes to a lane of its agent type; one already running here (a repeat's reclaim) is dropped.
          const next = claimed.filter((task) => !running.has(attemptKey(task)));
          for (const p of batch) {
            const at = p.lane ? next.findIndex((task) => task.agentType === p.lane) : -1;
            p.done.resolve(at >= 0 ? next.splice(at, 1)[0] : undefined);
          }
          // Only a repeat's reclaim can exceed the lanes; such a task's lease lapses and the sweep retries it.
          if (next.length > 0) logger.warn({ taskIds: next.map((t) => t.id) }, 'eagerly claimed tasks without a free lane');
        } catch (error) {
          for (const p of batch) p.done.reject(error);
        }
      }
      scheduled = false;
    };
    /** Records an outcome; with `lane` (the agent type whose lane it frees), resolves with a task claimed for that lane. */
    return (outcome: AttemptOutcome, lane?: AgentType): Promise<ClaimedTask | undefined> => {
      const done = Promise.withResolvers<ClaimedTask | undefined>();
      pending.push({ outcome, lane, done });
      if (!scheduled) {
        scheduled = true;
        // A flush records the outcomes of several attempts: its lines carry none's ids.
        withoutLogFields(() => setImmediate(() => void flush()));
      }
      return done.promise;
    };
  };

  /** Waits for an earlier attempt of the same task still running here to end; false if it will not. */
  const predecessorEnded = async (task: ClaimedTask): Promise<boolean> => {
    // Looked up by key (attempt numbers are small), not by scanning every attempt running here.
    const earlier: RunningAttempt[] = [];
    for (let attempt = 1; attempt < task.attempt; attempt++) {
      const found = running.get(attemptKey({ id: task.id, attempt }));
      if (found) earlier.push(found);
    }
    if (earlier.length === 0) return true;
    for (const a of earlier) {
      lost.add(attemptKey(a.task));
      a.controller.abort(new Error('Lease lost: a newer attempt of this task was claimed'));
    }
    await hookPoint('worker:waiting-for-previous-attempt', { taskId: task.id, attempt: task.attempt });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), task.timeoutSeconds * 1000);
    });
    const ended = await Promise.race([Promise.all(earlier.map((a) => a.agentDone)).then(() => true), timeout]);
    clearTimeout(timer);
    return ended;
  };

  const runAttempt = async (
    task: ClaimedTask,
    attempt: RunningAttempt,
    deps: { results: Map<string, DependencyResult>; refused: Map<string, string> } | Error,
    agentEnded: PromiseWithResolvers<unknown>,
    record: Recorder,
    lane: AgentType | undefined,
  ): Promise<ClaimedTask | undefined> => {
    const base = { taskId: task.id, executionId: task.executionId, attempt: task.attempt, jobId: task.jobId };
    let outcome: AttemptOutcome;
    let started = false;
    // The attempt's span (tracing on): child of its execution's, whichever process started that.
    const traced = startAttemptSpan(attempt.trace, task);
    if (deps instanceof Error) {
      outcome = { ...base, ok: 'release', reason: `Dependency results could not be loaded: ${deps.message}` };
    } else if (stopping) {
      outcome = { ...base, ok: 'release', reason: 'The worker is stopping' };
    } else if (deps.refused.has(task.id)) {
      outcome = { ...base, ok: false, error: deps.refused.get(task.id)!, retryable: false };
    } else if (!(await predecessorEnded(task))) {
      outcome = { ...base, ok: false, error: 'The previous attempt of this task ignored its abort signal and is still running on this worker', retryable: true };
    } else if (attempt.controller.signal.reason instanceof HandBack) {
      // The worker began stopping while this attempt waited for its predecessor.
      outcome = { ...base, ok: 'release', reason: attempt.controller.signal.reason.message };
    } else {
      const run = () =>
        runTask(ctx, registry, task, deps.results, attempt.controller, limits, {
          agentStarted: (done) => {
            started = true;
            void done.then(agentEnded.resolve);
          },
        });
      // Spans the agent starts (a child execution's) belong under the attempt's.
      outcome = await (traced ? otelContext.with(traced.context, run) : run());
    }
    // An agent that never started has nothing to wait for.
    if (!started) agentEnded.resolve(undefined);
    // Attempts whose lease this worker lost are not recorded: their retry is already under way.
    if (lost.has(attemptKey(task))) {
      if (traced) endAttemptSpan(traced.span, 'lease_lost');
      return undefined;
    }
    if (traced) {
      endAttemptSpan(traced.span, attemptOutcomeName(outcome), outcome.ok === false ? outcome.error : undefined);
      if (outcome.ok === 'child') outcome = { ...outcome, attemptSpan: traced.span.spanContext() };
    }
    // A hand-back (the worker is stopping, the infrastructure failed) frees no lane for more work.
    return record(outcome, outcome.ok === 'release' || stopping ? undefined : lane);
  };

  /** The attempt's run here is over: it is forgotten, and whoever waits for it to leave goes on. */
  const leave = (attempt: RunningAttempt) => {
    running.delete(attemptKey(attempt.task));
    lost.delete(attemptKey(attempt.task));
    attempt.left.resolve();
  };

  /** Registers claimed tasks as running here, loads their dependencies' results and waits at the after-claim hook. */
  const begin = async (claimed: ClaimedTask[]) => {
    const attempts = claimed.map((task) => {
      const agentEnded = Promise.withResolvers<unknown>();
      const attempt: RunningAttempt = { task, controller: new AbortController(), agentDone: agentEnded.promise, left: Promise.withResolvers<void>() };
      running.set(attemptKey(task), attempt);
      return { task, attempt, agentEnded };
    });
    try {
      await hookPoint('worker:after-claim', { taskIds: claimed.map((t) => t.id), workerId });
      const traces = await executionTraces(
        ctx,
        claimed.map((t) => t.executionId),
        logger,
      );
      for (const { task, attempt } of attempts) attempt.trace = traces.get(task.executionId);
      const deps = await withInfraRetry('loading dependency results', () => loadDependencyResults(ctx, claimed, limits.dependenciesMaxBytes)).catch(
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
      return { attempts, deps };
    } catch (error) {
      for (const { attempt } of attempts) leave(attempt);
      throw error;
    }
  };

  type Started = Awaited<ReturnType<typeof begin>>;

  /**
   * One lane: runs its attempt, and while the worker goes on and the lane is young, the task its
   * recording claimed eagerly (runner.ts, EagerDispatch), and so on. A lane holds its batch's
   * job, so it hands back to the queue after EAGER_LANE_MAX_MS, well inside the job's expiry.
   */
  const runLane = async (
    first: Started['attempts'][number],
    firstDeps: Started['deps'],
    record: Recorder,
    laneStarted: number,
  ) => {
    let current = first;
    let deps = firstDeps;
    for (;;) {
      const { task, attempt, agentEnded } = current;
      let next: ClaimedTask | undefined;
      try {
        const eager = eagerDispatch && Date.now() - laneStarted < EAGER_LANE_MAX_MS ? task.agentType : undefined;
        // Every line logged for the attempt, the agent's included, carries its ids.
        next = await withLogFields({ executionId: task.executionId, taskId: task.id, attempt: task.attempt, agentType: task.agentType }, () =>
          runAttempt(task, attempt, deps, agentEnded, record, eager),
        );
        // An agent that ignored its abort keeps its lane until it really ends; its late result is discarded.
        await attempt.agentDone;
      } finally {
        leave(attempt);
      }
      if (!next) return;
      const started = await begin([next]);
      current = started.attempts[0]!;
      deps = started.deps;
    }
  };

  const handleBatch = async (jobs: { id: string; data: unknown }[]) => {
    const laneStarted = Date.now();
    const claimJobs = jobs.map((job) => ({ ...taskJobSchema.parse(job.data), jobId: job.id }));
    // A claim is idempotent for this worker: a lost commit acknowledgement is retried, not charged.
    const reclaimed = await withInfraRetry('claiming tasks', () => claimTasks(ctx, claimJobs, workerId, leaseSeconds));
    // A task resumed from its wait keeps its attempt: woken at once (a child execution that ended at
    // once), it can be claimed here before the run that asked for the wait has left its lane; it
    // runs once that run is over. (Only a fresh claim is resumed: a repeated one finds no wait.)
    await Promise.all(reclaimed.filter((task) => task.resumedFromWait).map((task) => running.get(attemptKey(task))?.left.promise));
    // A claim repeated after a lost acknowledgement returns tasks this worker holds: never run one twice.
    const claimed = reclaimed.filter((task) => !running.has(attemptKey(task)));
    if (claimed.length === 0) return;
    const { attempts, deps } = await begin(claimed);
    const record = createRecorder();
    await Promise.all(attempts.map((attempt) => runLane(attempt, deps, record, laneStarted)));
  };

  /** Per agent queue: its slots (pg-boss worker ids) and those running a batch now. */
  const queueSlots: { slots: string[]; busy: Set<string> }[] = [];
  for (const agentType of AGENT_TYPES) {
    const settings = options.queues?.[agentType] ?? defaults;
    // One pg-boss worker per slot. NOTIFY wakes every slot when a job is queued; a job that
    // becomes due later (a retry's backoff, a wait's end) is found by the poll below, once a
    // second by one idle slot; a slot that fetches jobs wakes the next, so the slots join in one
    // after another while there is a backlog. Idle slots cost only a safety poll (an idle
    // process made ~58 transactions/s with every slot polling each second, ~11 now).
    const slots: string[] = [];
    const busy = new Set<string>();
    queueSlots.push({ slots, busy });
    for (let slot = 0; slot < settings.localConcurrency; slot++) {
      let id: string | undefined;
      id = await boss.work(
        agentQueue(agentType),
        {
          batchSize: settings.batchSize,
          localConcurrency: 1,
          burstWhenBatchFull: settings.batchSize > 1,
          pollingIntervalSeconds: SLOT_SAFETY_POLL_SECONDS,
          notifyPollingIntervalSeconds: SLOT_SAFETY_POLL_SECONDS,
        },
        async (jobs) => {
          if (id) busy.add(id);
          const next = id ? slots[(slots.indexOf(id) + 1) % slots.length] : undefined;
          if (jobs.length > 0 && next && next !== id && !stopping) boss.notifyWorker(next);
          try {
            await handleBatch(jobs);
          } finally {
            if (id) busy.delete(id);
            // A full batch of more than one already bursts (burstWhenBatchFull); an emptier one found no backlog.
            if (settings.batchSize === 1 && jobs.length > 0 && id && !stopping) boss.notifyWorker(id);
          }
        },
      );
      slots.push(id);
    }
  }
  const poller = setInterval(() => {
    if (stopping) return;
    for (const { slots, busy } of queueSlots) {
      const idle = slots.find((slot) => !busy.has(slot));
      if (idle) boss.notifyWorker(idle);
    }
  }, DUE_POLL_MS);
  poller.unref();

  const renew = async () => {
    const held = [...running.values()].filter((a) => !lost.has(attemptKey(a.task))).map((a) => ({ id: a.task.id, attempt: a.task.attempt }));
    try {
      await hookPoint('worker:renew', { workerId, held });
      // After this worker's own renewals failed, its leases may have lapsed through no fault of
      // its attempts; nobody can have reaped them yet (see databaseSettled), so they are renewed.
      const gone = await renewLeases(ctx, workerId, held, leaseSeconds, { allowLapsed: renewalFailed });
      renewalFailed = false;
      for (const key of gone) {
        const attempt = running.get(key);
        if (!attempt) continue;
        lost.add(key);
        attempt.controller.abort(new Error('Lease lost: the task was taken over'));
      }
    } catch (error) {
      renewalFailed = true;
      lastDatabaseFailure = Date.now();
      logger.warn({ err: error }, 'lease renewal failed');
    }
  };
  const heartbeat = setInterval(() => void renew(), Math.max(1000, (leaseSeconds * 1000) / 3));
  heartbeat.unref();

  let sweeping = false;
  const sweep = async () => {
    if (sweeping || stopping) return;
    sweeping = true;
    try {
      const reaped = databaseSettled() ? await reapExpiredLeases(ctx, leaseSeconds) : 0;
      const requeued = await requeueLostJobs(ctx, leaseSeconds);
      const orphans = await cancelOrphanedChildren(ctx);
      if (orphans) logger.info({ orphans }, 'cancelled child executions nobody waits for');
      await refreshStalledHealth(ctx);
      const rebased = await rebaseQueues(ctx);
      await pruneLimitStarts(ctx);
      if (rebased.length > 0) logger.info({ queues: rebased }, 'rebased fair-queue tags');
      if (reaped || requeued) logger.info({ reaped, requeued }, 'recovered tasks');
    } catch (error) {
      lastDatabaseFailure = Date.now();
      logger.warn({ err: error }, 'recovery sweep failed');
    } finally {
      sweeping = false;
    }
  };
  const sweeper = setInterval(() => void sweep(), options.sweepIntervalMs ?? 5000);
  sweeper.unref();
  void sweep();

  // The trailing edge of the coalesced health/metrics pair: watchers never keep stale counters.
  let flushing = false;
  const flushStats = async () => {
    if (flushing || stopping) return;
    flushing = true;
    try {
      await flushOwedStats(ctx);
    } catch (error) {
      logger.warn({ err: error }, 'health/metrics flush failed');
    } finally {
      flushing = false;
    }
  };
  const statsFlusher = setInterval(() => void flushStats(), options.statsFlushIntervalMs ?? 1000);
  statsFlusher.unref();

  logger.info({ workerId, agentTypes: AGENT_TYPES }, 'engine worker running');
  return {
    workerId,
    inFlight: () => ({ running: [...running.keys()], lost: [...lost] }),
    stop: async () => {
      stopping = true;
      clearInterval(poller);
      clearInterval(sweeper);
      clearInterval(statsFlusher);
      // Stop fetching first, then abort what runs: its tasks go back to the queue uncharged.
      const offWork = Promise.all(AGENT_TYPES.map((type) => boss.offWork(agentQueue(type), { wait: true })));
      for (const attempt of running.values()) attempt.controller.abort(new HandBack('The worker is stopping'));
      await offWork;
      clearInterval(heartbeat);
    },
  };
}
