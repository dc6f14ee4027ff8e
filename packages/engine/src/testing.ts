import { createLogger } from '@strata/config';
import { executionEvents, newId, workspaces } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { asc, eq } from 'drizzle-orm';
import { PgBoss } from 'pg-boss';
import { AgentRegistry } from './agent.ts';
import type { EngineContext } from './context.ts';
import { isTerminalStatus } from './contract.ts';
import { pgBossTaskQueue, ensureAgentQueues } from './queue.ts';
import { getExecutionStatus } from './status.ts';
import { ensureWebhookQueue } from './webhooks/queue.ts';
import type { StrategyInput } from './strategy/schema.ts';
import { createStrategy } from './strategy/store.ts';
import { startEngineWorker, type EngineWorker, type EngineWorkerOptions } from './worker.ts';

export { finishedTask, insertHistory, type HistoryExecution, type HistoryTask } from './analytics/test-history.ts';
export {
  type AgentRun,
  assertAllInvariants,
  assertExecutionInvariants,
  attemptViolations,
  checkExecution,
  childViolations,
  checkInvariants,
  formatViolation,
  InvariantError,
  type InvariantName,
  type InvariantOptions,
  overlappingRuns,
  type SqlSource,
  type Violation,
} from './invariants.ts';

/**
 * Test-only: a fresh database with pg-boss, an engine context, and in-process workers with
 * agents the test supplies.
 */
export interface EngineHarness {
  database: TestDatabase;
  boss: PgBoss;
  ctx: EngineContext;
  registry: AgentRegistry;
  startWorker(overrides?: Partial<EngineWorkerOptions>): Promise<EngineWorker>;
  workspace(name?: string): Promise<string>;
  strategy(workspaceId: string, items: StrategyInput['items'], extra?: Partial<StrategyInput>): Promise<string>;
  waitForStatus(executionId: string, statuses: string[], timeoutMs?: number): Promise<Awaited<ReturnType<typeof getExecutionStatus>>>;
  events(executionId: string): Promise<{ id: number; type: string; data: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export const silentLogger = createLogger('test', 'silent');

export async function createEngineHarness(options: { retry?: EngineContext['retry'] } = {}): Promise<EngineHarness> {
  const database = await createTestDatabase();
  const boss = new PgBoss({ connectionString: database.url, useListenNotify: true, supervise: true, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await ensureAgentQueues(boss);
  await ensureWebhookQueue(boss);
  const ctx: EngineContext = { db: database.db, queue: pgBossTaskQueue(boss), retry: options.retry ?? { baseMs: 1000, maxMs: 8000 } };
  const registry = new AgentRegistry();
  const workers: EngineWorker[] = [];
  return {
    database,
    boss,
    ctx,
    registry,
    async startWorker(overrides = {}) {
      const worker = await startEngineWorker({ boss, ctx, registry, logger: silentLogger, leaseSeconds: 30, sweepIntervalMs: 1000, ...overrides });
      workers.push(worker);
      return worker;
    },
    async workspace(name = 'Test workspace') {
      const id = newId('ws');
      await database.db.insert(workspaces).values({ id, name });
      return id;
    },
    async strategy(workspaceId, items, extra = {}) {
      const strategy = await createStrategy(database.db, { workspaceId, name: 'Test strategy', items, ...extra });
      return strategy.id;
    },
    async waitForStatus(executionId, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await getExecutionStatus(database.db, executionId);
        if (statuses.includes(status.execution.status) && (status.execution.completedAt || !isTerminalStatus(status.execution.status))) {
          await assertCountsExact(database, executionId);
          return status;
        }
        if (Date.now() > deadline) {
          const tasks = status.tasks.map((t) => `${t.key}:${t.status}#${t.retry_count}`).join(' ');
          throw new Error(`execution ${executionId} is ${status.execution.status}, not ${statuses.join('|')} after ${timeoutMs} ms; tasks: ${tasks.slice(0, 2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async events(executionId) {
      const rows = await database.db.select().from(executionEvents).where(eq(executionEvents.executionId, executionId)).orderBy(asc(executionEvents.id));
      return rows.map((r) => ({ id: r.id, type: r.type, data: r.data as Record<string, unknown> }));
    },
    async close() {
      for (const worker of workers) await worker.stop().catch(() => {});
      await boss.stop({ graceful: false, close: true }).catch(() => {});
      await database.drop();
    },
  };
}

/** The execution's counters always equal the tasks in those states. */
export async function assertCountsExact(database: TestDatabase, executionId: string): Promise<void> {
  const [row] = await database.sql<{ ok: boolean; detail: string }[]>`
    select (e.completed_tasks = count(*) filter (where t.status = 'completed')
        and e.failed_tasks = count(*) filter (where t.status = 'failed')
        and e.skipped_tasks = count(*) filter (where t.status = 'skipped')
        and e.total_tasks = count(t.id)) as ok,
      format('counters %s/%s/%s of %s, tasks %s/%s/%s of %s', e.completed_tasks, e.failed_tasks, e.skipped_tasks, e.total_tasks,
        count(*) filter (where t.status = 'completed'), count(*) filter (where t.status = 'failed'),
        count(*) filter (where t.status = 'skipped'), count(t.id)) as detail
    from executions e left join tasks t on t.execution_id = e.id where e.id = ${executionId} group by e.id`;
  if (!row?.ok) throw new Error(`execution ${executionId}: counts disagree with tasks: ${row?.detail}`);
}

/** Polls until `probe` returns something truthy (a state the code under test reaches), or fails naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Deferreds by key, made on first use from either side: an agent awaits `gate(key).promise`,
 * the test calls `gate(key).resolve()` when it wants that task to go on. `all()` lists them,
 * to release every one at the end.
 */
export function keyedGates(): { gate: (key: string) => PromiseWithResolvers<void>; all: () => PromiseWithResolvers<void>[] } {
  const gates = new Map<string, PromiseWithResolvers<void>>();
  return {
    gate: (key) => {
      let g = gates.get(key);
      if (!g) {
        g = Promise.withResolvers<void>();
        gates.set(key, g);
      }
      return g;
    },
    all: () => [...gates.values()],
  };
}
