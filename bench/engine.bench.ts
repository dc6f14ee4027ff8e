/**
 * Engine throughput and hand-off latency, each beside raw pg-boss doing the same on the same
 * database in the same run. Writes bench/results/engine.json.
 */
import { performance } from 'node:perf_hooks';
import { createLogger } from '@strata/config';
import { createDatabase, executions, newId, workspaces } from '@strata/db';
import { AgentRegistry, createStrategy, ensureAgentQueues, pgBossTaskQueue, startEngineWorker, startExecution } from '@strata/engine';
import { eq } from 'drizzle-orm';
import { PgBoss } from 'pg-boss';
import { type Cost, measureCost, perUnit } from './cost.ts';
import { benchDatabase, machine, percentile, round, writeResult } from './support.ts';

const TASKS = 10_000;
const CHAIN = 200;
const BATCH = 500;
const SLOTS = 2;
const logger = createLogger('bench', 'warn');

async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: url, useListenNotify: true, schedule: false, max: 20 });
  boss.on('error', (e) => logger.error(e));
  await boss.start();
  return boss;
}

/** Raw pg-boss at its best found here: batches of 500, NOTIFY, a worker that wakes itself. */
async function rawThroughput(url: string): Promise<number> {
  const boss = await startBoss(url);
  await boss.createQueue('bench.raw', { notify: true });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  for (let slot = 0; slot < SLOTS; slot++) {
    let self: string | undefined;
    self = await boss.work('bench.raw', { batchSize: BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 }, async (jobs) => {
      done += jobs.length;
      if (done >= TASKS) finish();
      if (jobs.length > 0 && self) boss.notifyWorker(self);
    });
  }
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

type Item = { key: string; description: string; agentType: string; dependsOn?: string[] };

interface EngineSetup {
  stop: () => Promise<void>;
  run: (items: Item[], pollMs?: number) => Promise<number>;
  /** Status reads `run` made while waiting (each one a transaction, for the cost count). */
  polls: () => number;
  registry: AgentRegistry;
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
const chain = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ key: `c${i}`, description: 'noop', agentType: 'content', dependsOn: i === 0 ? [] : [`c${i - 1}`] }));

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
    await setup.stop();

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
      cost,
      settings: { tasks: TASKS, chain: CHAIN, batchSize: BATCH, workerSlots: SLOTS, costTasks: COST_TASKS, costChain: COST_CHAIN },
      machine: machine(),
    });
  } finally {
    await db.drop();
  }
}
