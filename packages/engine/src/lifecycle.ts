import { randomUUID } from 'node:crypto';
import { type AgentType, type ExecutionStatus, type ExecutionTrigger, executions, newExecutionId, newId, type OnTaskFailure, strategyItems, strategyVersions } from '@strata/db';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import { CONTROL_RULES, type ControlAction } from './contract.ts';
import { type AssignedRow, assignTasks, enqueue, PRIORITY_RANK, readyTaskIds } from './dispatch.ts';
import { allocateTags, tagKey } from './fair-queue.ts';
import { activeChildren } from './children/tree.ts';
import { refuseStrategyCycle } from './children/nesting.ts';
import { agentQueue, type TaskQueue } from './queue.ts';
import { conflict, notFound, validationError } from './errors.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { settleExecution } from './settle.ts';
import { type CarryOver, insertCarriedOver, planTasks, type StrategyItemRow, type TaskPlan, taskRowOf } from './carry-over.ts';
import { hookPoint } from './hooks.ts';
import { cancelQueuedJobs, type TaskJobRef } from './queue-cleanup.ts';
import { returnToReady, type SkipReason, skipTasks } from './skip.ts';
import { checkExecutionInput } from './strategy/input-schema.ts';
import { newExecutionTrace } from '@strata/telemetry';
import { findStrategy } from './strategy/read.ts';
import { resolveConcurrencyKey } from './throttle/key.ts';
import { validateItems } from './strategy/validate.ts';
import { type Executor, type ExecutionLockRow, jsonRows, lockExecutions, textArray, transaction, type Tx } from './tx.ts';
import { wakeReadyWaits } from './waits/wake.ts';

const INSERT_CHUNK = 5000;

export interface ExecutionSummary {
  id: string;
  status: ExecutionStatus;
  strategyId: string;
  strategyVersion: number;
  workspaceId: string;
  startedAt: Date | null;
  completedAt: Date | null;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
}

export interface StartExecutionInput {
  strategyId: string;
  workspaceId: string;
  createdBy?: string;
  /** The execution's parameters, checked against the strategy version's inputSchema (none: `{}`). */
  input?: Record<string, unknown>;
  /** How it is started (default `api`), and by which schedule or from which execution. */
  trigger?: ExecutionTrigger;
  scheduleId?: string;
  retryOf?: string;
  /** The strategy version to run (a re-run keeps its original's); the latest when absent. */
  version?: number;
  /** A child execution (trigger `parent`): the task, and its attempt, whose `strategy` agent starts it (children/hold.ts). */
  parent?: ParentRef;
  /**
   * Runs inside start's transaction, right after the execution row is written: what the caller
   * stores here commits with the execution or not at all (the API keeps its Idempotency-Key
   * here). Throwing rolls the whole start back.
   */
  withinStart?: (tx: Tx, executionId: string) => Promise<void>;
}

export type ParentRef = { executionId: string; taskId: string; attempt: number };

/** What a start has read and checked before it writes anything. */
export interface StartPlan {
  strategyId: string;
  version: number;
  onTaskFailure: OnTaskFailure;
  /** The input with its schema's defaults filled in. */
  parameters: Record<string, unknown>;
  items: StrategyItemRow[];
  /** The version's cap on the execution's tasks in progress at once (throttle/), or null. */
  maxConcurrency: number | null;
  /** Each item's concurrency key, resolved for this execution, by item key (items without one left out). */
  keys: ReadonlyMap<string, string>;
}

/**
 * Starts an execution in ONE transaction: validates the strategy, creates one task per L4 item,
 * moves the execution to running and queues every task whose dependencies are met. No one can
 * see (or cancel) the execution before it is running with its first tasks queued, and a failure
 * anywhere leaves nothing behind. Returns the execution as created (`pending`), as the seed's
 * start response shows it.
 */
export function startExecution(ctx: EngineContext, input: StartExecutionInput): Promise<ExecutionSummary> {
  return launchExecution(ctx, input);
}

/**
 * startExecution, with `carryOver` for a re-run: the items it names are inserted already
 * completed (their results copied, `reused`, no agent run) with one `task-completed` event each,
 * in the same transaction; the tasks whose dependencies were all carried over are the ones queued.
 */
export async function launchExecution(ctx: EngineContext, input: StartExecutionInput, carryOver?: CarryOver): Promise<ExecutionSummary> {
  const plan = await planStart(ctx.db, input);
  const created = await transaction(ctx.db, async (tx) => {
    const row = await createExecution(tx, ctx.queue, plan, input, carryOver ? await carryOver(tx) : undefined);
    await hookPoint('lifecycle:start-before-commit', { executionId: row.id, strategyId: plan.strategyId });
    return row;
  });
  // After COMMIT: a test throws here to play a lost commit acknowledgement.
  await hookPoint('lifecycle:start-committed', { executionId: created.id, strategyId: plan.strategyId });
  return summarize(created);
}

/**
 * The checks of a start, reading only: the strategy is the workspace's and not archived, the
 * version exists, the input fits its schema, the items can run, and no `strategy` item makes it
 * run itself (`above`: the strategies of the executions that would run it, outermost first).
 */
export async function planStart(db: Executor, input: StartExecutionInput, above: readonly string[] = []): Promise<StartPlan> {
  const strategy = await findStrategy(db, input.strategyId);
  if (!strategy || strategy.workspaceId !== input.workspaceId) throw notFound(`Strategy not found: ${input.strategyId}`);
  if (strategy.archivedAt) throw conflict(`Strategy ${strategy.id} is archived`);
  // The execution is pinned to the version read here: its items never change, whatever edits follow.
  const version = input.version ?? strategy.version;
  const [definition] = await db
    .select({ inputSchema: strategyVersions.inputSchema, onTaskFailure: strategyVersions.onTaskFailure, maxConcurrency: strategyVersions.maxConcurrency })
    .from(strategyVersions)
    .where(and(eq(strategyVersions.strategyId, strategy.id), eq(strategyVersions.version, version)));
  if (!definition) throw notFound(`Strategy ${strategy.id} has no version ${version}`);
  const parameters = checkExecutionInput(definition.inputSchema ?? null, input.input ?? {});
  const items = await db
    .select()
    .from(strategyItems)
    .where(and(eq(strategyItems.strategyId, strategy.id), eq(strategyItems.version, version), eq(strategyItems.level, 4)))
    .orderBy(asc(strategyItems.position));
  validateItems(items.map((item) => ({ key: item.key!, agentType: item.agentType!, dependsOn: item.dependsOn })));
  await refuseStrategyCycle(
    db,
    input.workspaceId,
    strategy.id,
    items.map((item) => ({ key: item.key!, agentType: item.agentType!, input: item.input })),
    above,
  );
  const keys = concurrencyKeysOf(items, parameters);
  return { strategyId: strategy.id, version, onTaskFailure: definition.onTaskFailure, parameters, items, maxConcurrency: definition.maxConcurrency, keys };
}

/**
 * Each item's concurrency key for this execution, resolved over its input and the execution's
 * (throttle/key.ts), by item key. A key that has no value refuses the start, naming the item.
 */
function concurrencyKeysOf(items: readonly StrategyItemRow[], parameters: Record<string, unknown>): Map<string, string> {
  const keys = new Map<string, string>();
  for (const item of items) {
    if (item.concurrencyKey === null) continue;
    const resolved = resolveConcurrencyKey(item.concurrencyKey, item.input ?? {}, parameters);
    if ('error' in resolved) throw validationError(`Item "${item.key}": concurrencyKey: ${resolved.error}`, { item: item.key, path: 'input' });
    keys.set(item.key!, resolved.key);
  }
  return keys;
}

/**
 * Writes a planned start in the caller's transaction: the execution, its tasks (those in
 * `carriedOver`, by item id → the task it copies, already completed), the first ones queued,
 * `execution-started`, and the end at once when nothing is left to run.
 */
export async function createExecution(
  tx: Tx,
  queue: TaskQueue,
  start: StartPlan,
  input: StartExecutionInput,
  carriedOver: ReadonlyMap<string, string> = new Map(),
): Promise<typeof executions.$inferSelect> {
  const { items } = start;
  // A fresh id per attempt: `transaction` repeats its function after a deadlock.
  const executionId = input.parent ? childExecutionId(input.parent.executionId) : newExecutionId();
  const taskIdByKey = new Map(items.map((item) => [item.key!, newId('task')]));
  const plan = planTasks(items, carriedOver);
  const [row] = await tx
    .insert(executions)
    .values({
      id: executionId,
      workspaceId: input.workspaceId,
      strategyId: start.strategyId,
      strategyVersion: start.version,
      status: 'pending',
      onTaskFailure: start.onTaskFailure,
      input: start.parameters,
      trigger: input.trigger ?? (input.parent ? 'parent' : 'api'),
      scheduleId: input.scheduleId ?? null,
      retryOf: input.retryOf ?? null,
      parentExecutionId: input.parent?.executionId ?? null,
      parentTaskId: input.parent?.taskId ?? null,
      parentAttempt: input.parent?.attempt ?? null,
      maxConcurrency: start.maxConcurrency,
      traceContext: newExecutionTrace(),
      totalTasks: items.length,
      completedTasks: plan.reused.length,
      createdBy: input.createdBy ?? null,
      startedAt: new Date(),
    })
    .returning();
  if (input.withinStart) await input.withinStart(tx, executionId);
  // The lock first: it holds the fair-queue locks the start's tags are taken under.
  const locked = await lockExecutions(tx, [executionId]);
  const execution = locked.get(executionId)!;
  const roots = await tagRoots(tx, executionId, input.workspaceId, plan.roots, taskIdByKey);
  // Carried over first: the dependency edges insertTasks writes reference them.
  const carried = await insertCarriedOver(tx, executionId, input.workspaceId, plan.reused, taskIdByKey);
  await insertTasks(tx, executionId, input.workspaceId, items, taskIdByKey, roots, plan, start.keys);

  const events: NewEvent[] = [];
  await tx.execute(sql`update executions set status = 'running', updated_at = now() where id = ${executionId}`);
  execution.status = 'running';
  const origin = {
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
    ...(input.parent ? { parentExecutionId: input.parent.executionId, parentTaskId: input.parent.taskId } : {}),
  };
  events.push({ executionId, type: 'execution-started', data: { status: 'running', strategyId: start.strategyId, totalTasks: items.length, ...origin } });
  events.push(...carried);
  await hookPoint('lifecycle:start-tasks-inserted', { executionId, strategyId: start.strategyId, retryOf: input.retryOf ?? null });
  await enqueue(tx, queue, roots, events, { newExecution: true });
  // Tasks carried over changed the counts at once: watchers get health and metrics that say so
  // (and an execution with nothing left to run completes here, with its final events).
  if (items.length === 0 || plan.reused.length > 0) await settleExecution(tx, queue, execution, events, { forceStats: true });
  await appendEvents(tx, events);
  return row!;
}

/**
 * A child's id sorts after its parent's even when this machine's clock is behind the one that
 * started the parent: transactions lock several executions in id order (lockExecutions), and
 * ancestors before descendants is the order the cascades (controlChildren) take too.
 */
function childExecutionId(parentId: string): string {
  const parentMs = Number(/^exec_(\d+)_/.exec(parentId)?.[1] ?? 0);
  return newExecutionId(Math.max(Date.now(), parentMs + 1));
}

/**
 * The tasks ready at start, as they are queued: attempt 1, a job id and their fair-queue tags, in
 * the order assignTasks gives (priority, then strategy order). They are inserted already
 * assigned, so a start writes each of its tasks once.
 */
async function tagRoots(
  tx: Tx,
  executionId: string,
  workspaceId: string,
  rootItems: readonly StrategyItemRow[],
  taskIdByKey: ReadonlyMap<string, string>,
): Promise<TaggedRow[]> {
  const roots = rootItems
    .map((item) => ({ item, id: taskIdByKey.get(item.key!)! }))
    .sort((a, b) => PRIORITY_RANK[a.item.priority!] - PRIORITY_RANK[b.item.priority!] || a.item.position - b.item.position || (a.id < b.id ? -1 : 1));
  const counts = new Map<AgentType, number>();
  for (const { item } of roots) counts.set(item.agentType!, (counts.get(item.agentType!) ?? 0) + 1);
  const starts = await allocateTags(
    tx,
    [...counts].map(([agentType, count]) => ({ queue: agentQueue(agentType), workspaceId, count })),
  );
  return roots.map(({ item, id }) => {
    const key = tagKey(agentQueue(item.agentType!), workspaceId);
    const queueTag = starts.get(key) ?? 0;
    starts.set(key, queueTag + 1);
    return {
      id,
      executionId,
      workspaceId,
      agentType: item.agentType!,
      priority: item.priority!,
      ordinal: item.position,
      attempt: 1,
      retryCount: 0,
      timeoutSeconds: item.timeoutSeconds!,
      jobId: randomUUID(),
      queueTag,
    };
  });
}

type TaggedRow = AssignedRow & { queueTag: number };

/**
 * Inserts the execution's tasks that run (`roots` already assigned to their jobs) and the
 * dependency edges of all of them (the tasks carried over are in already: insertCarriedOver).
 */
async function insertTasks(
  tx: Tx,
  executionId: string,
  workspaceId: string,
  items: readonly StrategyItemRow[],
  taskIdByKey: ReadonlyMap<string, string>,
  roots: readonly TaggedRow[],
  plan: TaskPlan,
  keys: ReadonlyMap<string, string>,
): Promise<void> {
  const queued = new Map(roots.map((row) => [row.id, row]));
  const carried = new Set(plan.reused.map(({ item }) => item.key!));
  const taskRows = items.map((item) => {
    const row = taskRowOf(item, taskIdByKey);
    return {
      ...row,
      pending: plan.pending.get(item.key!) ?? 0,
      job_id: queued.get(row.id)?.jobId ?? null,
      queue_tag: queued.get(row.id)?.queueTag ?? null,
      concurrency_key: keys.get(item.key!) ?? null,
      key_concurrency: item.keyConcurrency,
      key_per_minute: item.keyPerMinute,
    };
  });
  const running = taskRows.filter((task) => !carried.has(task.key));
  // One statement per chunk, its rows as a single jsonb parameter: far cheaper to send and
  // plan than a multi-row VALUES list for 10,000 tasks.
  for (let i = 0; i < running.length; i += INSERT_CHUNK) {
    await tx.execute(sql`
      insert into tasks (id, execution_id, workspace_id, l4_item_id, key, agent_type, priority, description, ordinal, dependencies,
        pending_dependencies, input, max_retries, timeout_seconds, status, attempt, job_id, queue_tag, assigned_at, concurrency_key, key_concurrency, key_per_minute)
      select t.id, ${executionId}, ${workspaceId}, t.l4_item_id, t.key, t.agent_type, t.priority, t.description, t.ordinal,
        array(select jsonb_array_elements_text(t.dependencies)), t.pending, t.input, t.max_retries, t.timeout_seconds,
        case when t.job_id is null then 'pending' else 'assigned' end, case when t.job_id is null then 0 else 1 end, t.job_id, t.queue_tag,
        case when t.job_id is not null then now() end, t.concurrency_key, t.key_concurrency, t.key_per_minute
      from jsonb_to_recordset(${jsonRows(running.slice(i, i + INSERT_CHUNK))}) as t(id text, l4_item_id text, key text, agent_type text,
        priority text, description text, ordinal int, dependencies jsonb, pending int, input jsonb, max_retries int, timeout_seconds int, job_id text, queue_tag bigint,
        concurrency_key text, key_concurrency int, key_per_minute int)`);
  }
  const edges = taskRows.flatMap((task) => task.dependencies.map((d) => ({ t: task.id, d })));
  for (let i = 0; i < edges.length; i += INSERT_CHUNK * 5) {
    await tx.execute(sql`
      insert into task_dependencies (task_id, depends_on_task_id)
      select e.t, e.d from jsonb_to_recordset(${jsonRows(edges.slice(i, i + INSERT_CHUNK * 5))}) as e(t text, d text)`);
  }
}

/**
 * Pause: nothing new starts; in-progress tasks finish. Resume: everything ready is queued
 * again. Cancel: every task not started is skipped; in-progress ones finish. Repeating the
 * call on an execution already in that state is a no-op; an impossible transition is a CONFLICT.
 * Each reaches the execution's running children too (pause, cancel) or its paused ones (resume),
 * and theirs, in the same transaction.
 */
export async function controlExecution(ctx: EngineContext, executionId: string, action: ControlAction): Promise<ExecutionSummary> {
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(tx, [executionId]);
    const execution = locked.get(executionId);
    if (!execution) throw notFound('Execution not found');
    const rule = CONTROL_RULES[action];
    if (execution.status === rule.same) return loadSummary(tx, executionId);
    if (!rule.from.includes(execution.status)) {
      throw conflict(`Cannot ${action} an execution that is ${execution.status}`, { status: execution.status });
    }
    const events: NewEvent[] = [];
    await applyControl(tx, ctx.queue, execution, action, events);
    await appendEvents(tx, events);
    return loadSummary(tx, executionId);
  });
}

/** One control call on an execution whose lock the caller holds and whose status allows it. */
async function applyControl(tx: Tx, queue: TaskQueue, execution: ExecutionLockRow, action: ControlAction, events: NewEvent[]): Promise<void> {
  const executionId = execution.id;
  if (action === 'pause') {
    await tx.execute(sql`update executions set status = 'paused', paused_at = now(), updated_at = now() where id = ${executionId}`);
    execution.status = 'paused';
    events.push({ executionId, type: 'execution-paused', data: { status: 'paused' } });
    await returnQueuedToReady(tx, executionId, events);
    await controlChildren(tx, queue, [executionId], 'pause', events);
  } else if (action === 'resume') {
    await tx.execute(sql`update executions set status = 'running', paused_at = null, updated_at = now() where id = ${executionId}`);
    execution.status = 'running';
    events.push({ executionId, type: 'execution-resumed', data: { status: 'running' } });
    await assignTasks(tx, queue, await readyTaskIds(tx, executionId), events);
    // Answers and signals that came while paused (and deadlines that passed) take effect now.
    await wakeReadyWaits(tx, queue, executionId);
    await controlChildren(tx, queue, [executionId], 'resume', events);
    await settleExecution(tx, queue, execution, events);
  } else {
    await tx.execute(sql`update executions set status = 'cancelled', updated_at = now() where id = ${executionId}`);
    execution.status = 'cancelled';
    await skipUnstarted(tx, queue, [executionId], 'cancelled', events);
    await settleExecution(tx, queue, execution, events, { forceStats: true });
  }
}

/**
 * The cascade of a control call: the children of these executions that the call applies to
 * (running ones for pause and cancel, paused ones for resume and cancel), locked after their
 * parents (ancestors first, as everywhere: childExecutionId), each controlled like its parent.
 */
async function controlChildren(tx: Tx, queue: TaskQueue, parentIds: readonly string[], action: ControlAction, events: NewEvent[]): Promise<void> {
  const from = CONTROL_RULES[action].from;
  const ids = await activeChildren(tx, parentIds);
  if (ids.length === 0) return;
  const locked = await lockExecutions(tx, ids);
  for (const id of ids) {
    const child = locked.get(id);
    // Read before the lock: a child that ended meanwhile is left as it is.
    if (child && !child.settled && from.includes(child.status)) await applyControl(tx, queue, child, action, events);
  }
}

/**
 * Marks every task of these executions that has not started, or is waiting, as skipped (each
 * with its event), and cancels their queued jobs in the same transaction (cancel, and a failed
 * execution's rest). Their children are cancelled first: a waiting `strategy` task is skipped
 * after the child it waits for has ended.
 */
export async function skipUnstarted(tx: Tx, queue: TaskQueue, executionIds: readonly string[], reason: SkipReason, events: NewEvent[]): Promise<number> {
  await controlChildren(tx, queue, executionIds, 'cancel', events);
  const skipped = await skipTasks(
    tx,
    sql`t.execution_id = any(${textArray(executionIds)}) and (t.status in ('pending', 'assigned') or (t.status = 'in_progress' and t.wake_at is not null))`,
    reason,
    events,
  );
  await cancelQueuedJobs(tx, jobsOf(skipped));
  return skipped.length;
}

/**
 * Pause: every task queued but not yet claimed goes back to ready (`pending`) and its job is
 * cancelled in the same transaction; resume queues what is ready again under a new attempt.
 * A retry still in its backoff keeps its job, so the backoff holds: should that job fire while
 * paused, its claim returns the task to ready (runner.ts). Waiting tasks keep their wake-up
 * job: a wait that runs out is in-flight work and resumes while paused too.
 */
async function returnQueuedToReady(tx: Tx, executionId: string, events: NewEvent[]): Promise<number> {
  const rows = await returnToReady(
    tx,
    sql`t.execution_id = ${executionId}
      and not exists (select 1 from pgboss.job j
        where j.name = 'agent.' || t.agent_type and j.id = t.job_id::uuid
          and j.state in ('created', 'retry') and j.start_after > pgboss.job_now())`,
    events,
  );
  await cancelQueuedJobs(tx, jobsOf(rows));
  return rows.length;
}

const jobsOf = (rows: readonly { agentType: string; jobId: string | null }[]): TaskJobRef[] =>
  rows.flatMap((row) => (row.jobId ? [{ agentType: row.agentType, jobId: row.jobId }] : []));

async function loadSummary(tx: Tx, executionId: string): Promise<ExecutionSummary> {
  const [row] = await tx.select().from(executions).where(eq(executions.id, executionId));
  if (!row) throw notFound('Execution not found');
  return summarize(row);
}

function summarize(row: typeof executions.$inferSelect): ExecutionSummary {
  return {
    id: row.id,
    status: row.status,
    strategyId: row.strategyId,
    strategyVersion: row.strategyVersion,
    workspaceId: row.workspaceId,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    totalTasks: row.totalTasks,
    completedTasks: row.completedTasks,
    failedTasks: row.failedTasks,
  };
}
