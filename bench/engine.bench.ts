/**
 * Engine throughput, hand-off latency, fan-out (one task releasing 1,000) and many executions
 * at once across workspaces, each beside raw pg-boss doing the same on the same database in the
 * same run, and the database cost per task. Writes bench/results/engine.json.
 */
import { performance } from 'node:perf_hooks';
import { createLogger } from '@strata/config';
import { createDatabase, type Db, executions, newId, workspaces } from '@strata/db';
import { AgentRegistry, createStrategy, type EngineContext, ensureAgentQueues, pgBossTaskQueue, startEngineWorker, startExecution } from '@strata/engine';
import { eq, inArray } from 'drizzle-orm';
import { type Job, PgBoss } from 'pg-boss';
import { type Cost, measureCost, perUnit } from './cost.ts';
import { benchDatabase, percentile, round, writeResult } from './support.ts';

const TASKS = 10_000;
const CHAIN = 200;
const BATCH = 500;
const SLOTS = 2;
/** fanout: one task releasing this many dependents. */
const FANOUT = 1000;
/** multi: this many executions of MULTI_TASKS no-op tasks each, spread evenly over MULTI_WORKSPACES, started at once. */
const MULTI_EXECUTIONS = 50;
const MULTI_TASKS = 200;
const MULTI_WORKSPACES = 10;
const MULTI_TIMEOUT_MS = 600_000;
const logger = createLogger('bench', 'warn');

async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, useListenNotify: true, schedule: false, max: 20 });
  boss.on('error', (e) => logger.error(e));
  await boss.start();
  return boss;
}

/**
 * Raw pg-boss at its best found here, and the worker settings of every raw comparison of many
 * jobs (throughput, fanout, multi): SLOTS fetch loops taking batches of BATCH, NOTIFY, each loop
 * waking itself after a batch that was not empty.
 */
async function rawWorkers(boss: PgBoss, queue: string, handler: (jobs: Job<unknown>[]) => Promise<void> | void): Promise<void> {
  for (let slot = 0; slot < SLOTS; slot++) {
    let self: string | undefined;
    self = await boss.work(queue, { batchSize: BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 }, async (jobs) => {
      await handler(jobs);
      if (jobs.length > 0 && self) boss.notifyWorker(self);
    });
  }
}

async function rawThroughput(url: string): Promise<number> {
  const boss = await startBoss(url);
  await boss.createQueue('bench.raw', { notify: true });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  await rawWorkers(boss, 'bench.raw', (jobs) => {
    done += jobs.length;
    if (done >= TASKS) finish();
  });
  const started = performance.now();
  for (let i = 0; i < TASKS; i += 5000) await boss.insert('bench.raw', Array.from({ length: Math.min(5000, TASKS - i) }, (_, j) => ({ data: { i: i + j } })));
  await finished;
  const elapsed = performance.now() - started;
  await boss.stop({ graceful: false, close: true });
  return TASKS / (elapsed / 1000);
}

/** Raw pg-boss chain: each handler sends the next job; hop = send -> next handler start. */
async function rawChain(url: string): Promise<number[]> {
  const boss = await startBoss(url);
  await boss.createQueue('bench.chain', { notify: true });
  const sentAt: number[] = [];
  const startedAt: number[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  for (let slot = 0; slot < SLOTS; slot++) {
    await boss.work('bench.chain', { batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 }, async ([job]) => {
      const i = (job!.data as { i: number }).i;
      startedAt[i] = performance.now();
      if (i + 1 >= CHAIN) return finish();
      sentAt[i + 1] = performance.now();
      await boss.send('bench.chain', { i: i + 1 });
    });
  }
  sentAt[0] = performance.now();
  await boss.send('bench.chain', { i: 0 });
  await finished;
  await boss.stop({ graceful: false, close: true });
  return startedAt.slice(1).map((t, i) => t - sentAt[i + 1]!);
}

/**
 * Raw pg-boss fan-out: the handler of one job inserts FANOUT jobs in one call; each job's delay
 * is from just before that insert (the releasing handler's own work done, as the engine's is
 * measured from its root agent's return) to the start of the handler that receives it.
 */
async function rawFanout(url: string): Promise<number[]> {
  const boss = await startBoss(url);
  const queue = 'bench.fanout';
  await boss.createQueue(queue, { notify: true });
  let releasedAt = 0;
  const startedAt: number[] = [];
  let started = 0;
  const finished = Promise.withResolvers<void>();
  await rawWorkers(boss, queue, async (jobs) => {
    const now = performance.now();
    for (const job of jobs) {
      const { i } = job.data as { i: number };
      if (i >= 0) {
        startedAt[i] = now;
        if (++started === FANOUT) finished.resolve();
        continue;
      }
      releasedAt = performance.now();
      await boss.insert(queue, Array.from({ length: FANOUT }, (_, j) => ({ data: { i: j } })));
    }
  });
  await boss.send(queue, { i: -1 });
  await finished.promise;
  await boss.stop({ graceful: false, close: true });
  return startedAt.map((t) => t - releasedAt);
}

/**
 * Raw pg-boss beside `multi`: MULTI_EXECUTIONS batches of MULTI_TASKS jobs, every insert issued
 * at once. One queue, not one per workspace: the engine puts every workspace's tasks of an agent
 * type into that type's one pg-boss queue (fairness between workspaces is a job priority within
 * it), so one queue with the same SLOTS fetch loops is the like-for-like anchor; ten queues would
 * give raw pg-boss ten times the fetch loops the engine has. As in `throughput`, a job counts as
 * done when its handler runs (pg-boss's completion write follows it). A batch's duration is from
 * the moment the inserts were issued to its last job's handler.
 */
async function rawMulti(url: string): Promise<{ elapsedMs: number; batchMs: number[] }> {
  const boss = await startBoss(url);
  const queue = 'bench.multi';
  await boss.createQueue(queue, { notify: true });
  const left = Array.from({ length: MULTI_EXECUTIONS }, () => MULTI_TASKS);
  const doneAt: number[] = [];
  let remaining = MULTI_EXECUTIONS;
  const finished = Promise.withResolvers<void>();
  await rawWorkers(boss, queue, (jobs) => {
    const now = performance.now();
    for (const job of jobs) {
      const { b } = job.data as { b: number };
      if (--left[b]! > 0) continue;
      doneAt[b] = now;
      if (--remaining === 0) finished.resolve();
    }
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: MULTI_EXECUTIONS }, (_, b) => boss.insert(queue, Array.from({ length: MULTI_TASKS }, (_, i) => ({ data: { b, i } })))));
  await finished.promise;
  await boss.stop({ graceful: false, close: true });
  const batchMs = doneAt.map((t) => t - started);
  return { elapsedMs: Math.max(...batchMs), batchMs };
}

type Item = { key: string; description: string; agentType: string; dependsOn?: string[] };

interface EngineSetup {
  stop: () => Promise<void>;
  run: (items: Item[], pollMs?: number) => Promise<number>;
  /** Status reads `run` made while waiting (each one a transaction, for the cost count). */
  polls: () => number;
  registry: AgentRegistry;
  ctx: EngineContext;
  db: Db;
  /** A new workspace (`run` uses one made at setup). */
  workspace: (name: string) => Promise<string>;
}

async function engine(url: string): Promise<EngineSetup> {
  const boss = await startBoss(url);
  const database = createDatabase(url, { max: 20 });
  const ctx = { db: database.db, queue: pgBossTaskQueue(boss), retry: { baseMs: 1000, maxMs: 60_000 } };
  await ensureAgentQueues(boss);
  const registry = new AgentRegistry();
  const worker = await startEngineWorker({ boss, ctx, registry, logger, leaseSeconds: 60, defaultQueue: { batchSize: BATCH, localConcurrency: SLOTS } });
  const workspaceId = newId('ws');
  await database.db.insert(workspaces).values({ id: workspaceId, name: 'bench' });
  let polls = 0;
  return {
    registry,
    ctx,
    db: database.db,
    workspace: async (name) => {
      const id = newId('ws');
      await database.db.insert(workspaces).values({ id, name });
      return id;
    },
    polls: () => polls,
    stop: async () => {
      await worker.stop();
      await boss.stop({ graceful: false, close: true });
      await database.close();
    },
    run: async (items, pollMs = 5) => {
      const strategy = await createStrategy(database.db, { workspaceId, name: 'bench', items });
      const started = performance.now();
      const execution = await startExecution(ctx, { strategyId: strategy.id, workspaceId });
      for (;;) {
        polls++;
        const [row] = await database.db.select({ status: executions.status, completedAt: executions.completedAt }).from(executions).where(eq(executions.id, execution.id));
        if (row?.status === 'completed' && row.completedAt) break;
        if (row?.status === 'failed' || row?.status === 'cancelled') throw new Error(`bench execution ${row.status}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
      return performance.now() - started;
    },
  };
}

const COST_TASKS = 2000;
const COST_CHAIN = 200;
const independent = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, description: 'noop', agentType: 'content' }));
/** One root task and `n` tasks that depend on it alone. */
const fanout = (n: number): Item[] => [
  { key: 'root', description: 'noop', agentType: 'content' },
  ...Array.from({ length: n }, (_, i) => ({ key: `f${i}`, description: 'noop', agentType: 'content', dependsOn: ['root'] })),
];
const chain = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ key: `c${i}`, description: 'noop', agentType: 'content', dependsOn: i === 0 ? [] : [`c${i - 1}`] }));

/**
 * MULTI_EXECUTIONS executions of MULTI_TASKS independent no-op tasks, spread evenly over
 * MULTI_WORKSPACES new workspaces (one strategy each, started MULTI_EXECUTIONS /
 * MULTI_WORKSPACES times), every start call issued at once. An execution's duration is from its
 * start call to the poll (every 5 ms, one query for all of them) that first sees it completed;
 * the whole run is from the first start call to the last completion.
 */
async function engineMulti(setup: EngineSetup): Promise<{ elapsedMs: number; executionMs: number[] }> {
  const workspaceIds = await Promise.all(Array.from({ length: MULTI_WORKSPACES }, (_, w) => setup.workspace(`multi ${w}`)));
  const strategies = await Promise.all(workspaceIds.map((workspaceId) => createStrategy(setup.db, { workspaceId, name: 'multi', items: independent(MULTI_TASKS) })));
  const startCalledAt = new Map<string, number>();
  const completedAt = new Map<string, number>();
  let startError: unknown;
  const first = performance.now();
  const starts = Array.from({ length: MULTI_EXECUTIONS }, (_, e) => {
    const w = e % MULTI_WORKSPACES;
    const calledAt = performance.now();
    return startExecution(setup.ctx, { strategyId: strategies[w]!.id, workspaceId: workspaceIds[w]! }).then((execution) => startCalledAt.set(execution.id, calledAt));
  });
  Promise.all(starts).catch((e) => (startError = e));
  while (completedAt.size < MULTI_EXECUTIONS) {
    if (startError) throw startError;
    if (performance.now() - first > MULTI_TIMEOUT_MS) throw new Error(`multi: ${completedAt.size} of ${MULTI_EXECUTIONS} executions completed after ${MULTI_TIMEOUT_MS} ms`);
    const rows = await setup.db.select({ id: executions.id, status: executions.status, completedAt: executions.completedAt }).from(executions).where(inArray(executions.workspaceId, workspaceIds));
    const now = performance.now();
    for (const row of rows) {
      if (row.status === 'failed' || row.status === 'cancelled') throw new Error(`multi: execution ${row.id} ${row.status}`);
      if (row.status === 'completed' && row.completedAt && !completedAt.has(row.id)) completedAt.set(row.id, now);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(starts);
  const executionMs = [...completedAt].map(([id, at]) => at - startCalledAt.get(id)!);
  return { elapsedMs: Math.max(...completedAt.values()) - first, executionMs };
}

/**
 * The engine's database cost per task: an engine that starts, runs `items` and stops, less one
 * that starts and stops with nothing to do, less the status reads made while waiting (each one
 * read-only transaction), over the number of tasks. Strategy creation is counted too (one
 * strategy, its items): small beside the tasks.
 */
async function engineCost(url: string, items: Item[]): Promise<Cost> {
  const lifecycle = async (work?: Item[]) => {
    const setup = await engine(url);
    setup.registry.register('content', () => null);
    let polls = 0;
    try {
      if (work) {
        await setup.run(work, 200);
        polls = setup.polls();
      }
    } finally {
      await setup.stop();
    }
    return polls;
  };
  const idle = await measureCost(url, async () => {
    await lifecycle();
  });
  let polls = 0;
  const busy = await measureCost(url, async () => {
    polls = await lifecycle(items);
  });
  return perUnit({ ...subtract(busy, idle), transactions: busy.transactions - idle.transactions - polls }, items.length);
}

/** Raw pg-boss doing the same: `n` independent jobs (inserted in one call) or a chain of `n`, less an idle start and stop. */
async function pgbossCost(url: string, shape: 'independent' | 'chain', n: number): Promise<Cost> {
  const lifecycle = async (work: boolean) => {
    const boss = await startBoss(url);
    const queue = `bench.cost.${shape}`;
    await boss.createQueue(queue, { notify: true });
    try {
      if (!work) return;
      const done = Promise.withResolvers<void>();
      let count = 0;
      await boss.work(queue, { batchSize: shape === 'chain' ? 1 : BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) {
          count++;
          const i = (job.data as { i: number }).i;
          if (shape === 'chain' && i + 1 < n) await boss.send(queue, { i: i + 1 });
        }
        if (count >= n) done.resolve();
      });
      if (shape === 'chain') await boss.send(queue, { i: 0 });
      else await boss.insert(queue, Array.from({ length: n }, (_, i) => ({ data: { i } })));
      await done.promise;
    } finally {
      await boss.stop({ graceful: true, close: true });
    }
  };
  const idle = await measureCost(url, () => lifecycle(false));
  const busy = await measureCost(url, () => lifecycle(true));
  return perUnit(subtract(busy, idle), n);
}

const subtract = (a: Cost, b: Cost): Cost => ({
  transactions: a.transactions - b.transactions,
  rowsWritten: a.rowsWritten - b.rowsWritten,
  notifies: a.notifies - b.notifies,
  walBytes: a.walBytes - b.walBytes,
});

export async function run(): Promise<void> {
  const db = await benchDatabase();
  try {
    console.log(`  raw pg-boss: draining ${TASKS} no-op jobs`);
    const pgbossJobsPerS = await rawThroughput(db.url);
    console.log(`  raw pg-boss: chain of ${CHAIN}`);
    const rawHops = (await rawChain(db.url)).sort((a, b) => a - b);
    console.log(`  raw pg-boss: one job's handler inserting ${FANOUT} jobs`);
    const rawFan = (await rawFanout(db.url)).sort((a, b) => a - b);
    console.log(`  raw pg-boss: ${MULTI_EXECUTIONS} batches of ${MULTI_TASKS} jobs inserted at once`);
    const rawMany = await rawMulti(db.url);

    const setup = await engine(db.url);
    const agentStart = new Map<string, number>();
    const agentEnd = new Map<string, number>();
    setup.registry.register('content', ({ task }) => {
      agentStart.set(task.key, performance.now());
      agentEnd.set(task.key, performance.now());
      return null;
    });
    console.log(`  engine: one execution of ${TASKS} independent tasks`);
    const elapsed = await setup.run(independent(TASKS));
    const engineTasksPerS = TASKS / (elapsed / 1000);
    console.log(`  engine: chain of ${CHAIN}`);
    agentStart.clear();
    agentEnd.clear();
    await setup.run(chain(CHAIN));
    const hops = Array.from({ length: CHAIN - 1 }, (_, i) => agentStart.get(`c${i + 1}`)! - agentEnd.get(`c${i}`)!).sort((a, b) => a - b);
    console.log(`  engine: one task releasing ${FANOUT} dependents`);
    agentStart.clear();
    agentEnd.clear();
    await setup.run(fanout(FANOUT));
    const rootEnd = agentEnd.get('root')!;
    const fan = Array.from({ length: FANOUT }, (_, i) => agentStart.get(`f${i}`)! - rootEnd).sort((a, b) => a - b);
    console.log(`  engine: ${MULTI_EXECUTIONS} executions of ${MULTI_TASKS} tasks across ${MULTI_WORKSPACES} workspaces at once`);
    const many = await engineMulti(setup);
    await setup.stop();
    const executionMs = many.executionMs.sort((a, b) => a - b);
    const batchMs = rawMany.batchMs.sort((a, b) => a - b);
    const multiTasks = MULTI_EXECUTIONS * MULTI_TASKS;

    console.log(`  cost per task: ${COST_TASKS} independent, a chain of ${COST_CHAIN}, engine and raw pg-boss`);
    const cost = {
      engine_independent: await engineCost(db.url, independent(COST_TASKS)),
      pgboss_independent: await pgbossCost(db.url, 'independent', COST_TASKS),
      engine_chain: await engineCost(db.url, chain(COST_CHAIN)),
      pgboss_chain: await pgbossCost(db.url, 'chain', COST_CHAIN),
      note: 'per task: transactions committed, rows inserted/updated/deleted and NOTIFYs delivered in the bench database; WAL bytes are cluster-wide',
    };

    writeResult('engine', {
      throughput: {
        engine_tasks_per_s: round(engineTasksPerS, 1),
        pgboss_jobs_per_s: round(pgbossJobsPerS, 1),
        ratio: round(engineTasksPerS / pgbossJobsPerS, 3),
      },
      hop: {
        engine_p50_ms: round(percentile(hops, 50)),
        engine_p99_ms: round(percentile(hops, 99)),
        pgboss_p50_ms: round(percentile(rawHops, 50)),
        pgboss_p99_ms: round(percentile(rawHops, 99)),
      },
      fanout: {
        dependents: FANOUT,
        engine_first_started_ms: round(fan[0]!),
        engine_all_started_ms: round(fan.at(-1)!),
        engine_p50_ms: round(percentile(fan, 50)),
        engine_p99_ms: round(percentile(fan, 99)),
        pgboss_first_started_ms: round(rawFan[0]!),
        pgboss_all_started_ms: round(rawFan.at(-1)!),
        pgboss_p50_ms: round(percentile(rawFan, 50)),
        pgboss_p99_ms: round(percentile(rawFan, 99)),
      },
      multi: {
        executions: MULTI_EXECUTIONS,
        tasks_per_execution: MULTI_TASKS,
        workspaces: MULTI_WORKSPACES,
        engine_tasks_per_s: round(multiTasks / (many.elapsedMs / 1000), 1),
        engine_slowest_execution_ms: round(executionMs.at(-1)!),
        engine_p50_execution_ms: round(percentile(executionMs, 50)),
        pgboss_jobs_per_s: round(multiTasks / (rawMany.elapsedMs / 1000), 1),
        pgboss_slowest_batch_ms: round(batchMs.at(-1)!),
        pgboss_p50_batch_ms: round(percentile(batchMs, 50)),
        ratio: round(multiTasks / many.elapsedMs / (multiTasks / rawMany.elapsedMs), 3),
      },
      cost,
      settings: {
        tasks: TASKS,
        chain: CHAIN,
        batchSize: BATCH,
        workerSlots: SLOTS,
        costTasks: COST_TASKS,
        costChain: COST_CHAIN,
        fanout: FANOUT,
        multiExecutions: MULTI_EXECUTIONS,
        multiTasks: MULTI_TASKS,
        multiWorkspaces: MULTI_WORKSPACES,
        multiPgbossQueues: 1,
      },
    });
  } finally {
    await db.drop();
  }
}
