import { underSpan } from '@strata/telemetry';
import { sql } from 'drizzle-orm';
import { type LeftRunning, leftRunningColumns } from '../throttle/release.ts';
import type { EngineContext } from '../context.ts';
import { isTerminalStatus } from '../contract.ts';
import { type AssignedRow, enqueue } from '../dispatch.ts';
import { conflict, EngineError } from '../errors.ts';
import type { NewEvent } from '../events.ts';
import { createExecution, planStart, type StartPlan } from '../lifecycle.ts';
import type { TaskQueue } from '../queue.ts';
import type { AttemptOutcome } from '../runner.ts';
import type { ExecutionLockRow, Tx } from '../tx.ts';
import { wakeWaitingTasks } from '../waits/wake.ts';
import { DEFAULT_STRATEGY_MAX_DEPTH } from './nesting.ts';
import { ancestry } from './tree.ts';

type ChildOutcome = Extract<AttemptOutcome, { ok: 'child' }>;
type Failure = Extract<AttemptOutcome, { ok: false }>;
type Wait = Extract<AttemptOutcome, { ok: 'wait' }>;
type Release = Extract<AttemptOutcome, { ok: 'release' }>;

/**
 * How long a task waiting for its child holds before it looks again on its own. The child's end
 * wakes it at once (wakeParentTask, in the transaction that ends the child); this is only the
 * safety net, as pg-boss's polls are for NOTIFY.
 */
export const DEFAULT_CHILD_POLL_SECONDS = 600;

/** A child request that passed its checks: the child to go on waiting for, or the start to make. */
export type ChildHold = { outcome: ChildOutcome; childId: string | null; plan: StartPlan | null; createdBy: string | null };

const fence = (o: ChildOutcome) =>
  sql`id = ${o.taskId} and attempt = ${o.attempt} and status = 'in_progress' and wake_at is null ${o.jobId ? sql`and job_id = ${o.jobId}` : sql``}`;

/**
 * The first half of recording child requests, before anything is written: for each request whose
 * attempt is still current, the child this attempt already started (a resumed agent waiting on),
 * or the checks of a new start (the strategy, its input, a cycle through the executions above,
 * the depth). A start refused by its checks fails the task without retry, naming why. Reads only,
 * and locks no task: the failures recorded next may cancel children (lifecycle's cascade), which
 * wake their parent tasks under those tasks' row locks.
 */
export async function prepareChildHolds(
  ctx: EngineContext,
  tx: Tx,
  outcomes: readonly ChildOutcome[],
  locked: Map<string, ExecutionLockRow>,
): Promise<{ holds: ChildHold[]; refused: Failure[] }> {
  const holds: ChildHold[] = [];
  const refused: Failure[] = [];
  const maxDepth = ctx.children?.maxDepth ?? DEFAULT_STRATEGY_MAX_DEPTH;
  for (const outcome of outcomes) {
    const execution = locked.get(outcome.executionId);
    const [task] = await tx.execute<{ id: string }>(sql`select id from tasks where ${fence(outcome)}`);
    // A superseded attempt (a replay after a lost acknowledgement, a stale job) starts nothing.
    if (!task || !execution) continue;
    const [existing] = await tx.execute<{ id: string }>(sql`
      select id from executions where parent_task_id = ${outcome.taskId} and parent_attempt = ${outcome.attempt}`);
    if (existing || execution.status !== 'running') {
      holds.push({ outcome, childId: existing?.id ?? null, plan: null, createdBy: null });
      continue;
    }
    const { request } = outcome;
    try {
      const above = await ancestry(tx, outcome.executionId);
      const depth = above.strategies.length;
      if (depth > maxDepth) throw conflict(`it would be nested ${depth} deep, and STRATEGY_MAX_DEPTH is ${maxDepth}`);
      const plan = await planStart(tx, { strategyId: request.strategyId, workspaceId: execution.workspaceId, input: request.input ?? {}, ...(request.version ? { version: request.version } : {}) }, above.strategies);
      holds.push({ outcome, childId: null, plan, createdBy: above.createdBy });
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      const { taskId, executionId, attempt, jobId } = outcome;
      refused.push({ taskId, executionId, attempt, jobId, ok: false, retryable: false, error: `The child execution of ${request.strategyId} was not started: ${error.message}` });
    }
  }
  return { holds, refused };
}

/**
 * The second half, after the batch's failures: each task still on its attempt starts its child
 * (unless it has one) and waits for it, holding no lease and no worker slot, like `wait()`. Its
 * row stays locked from the fence to the commit, and the child's status is read after that lock:
 * a child ending at the same moment either committed first (it is seen as ended, and the task is
 * queued to run now) or finds the task waiting when its own wake takes the row (wakeParentTask).
 * The execution ended meanwhile: the request becomes a late wait (the task is skipped). Paused,
 * with no child yet: handed back, to start its child at resume (nothing new starts while paused).
 */
export async function holdForChildren(
  ctx: EngineContext,
  tx: Tx,
  holds: readonly ChildHold[],
  locked: Map<string, ExecutionLockRow>,
  events: NewEvent[],
): Promise<{ recorded: number; late: Wait[]; releases: Release[]; left: LeftRunning[] }> {
  const late: Wait[] = [];
  const releases: Release[] = [];
  /** Tasks that stopped running to wait for their child: the limited slots they free (throttle/). */
  const left: LeftRunning[] = [];
  let recorded = 0;
  const pollSeconds = ctx.children?.pollSeconds ?? DEFAULT_CHILD_POLL_SECONDS;
  for (const { outcome, childId: existing, plan, createdBy } of holds) {
    const { taskId, executionId, attempt, jobId } = outcome;
    const status = locked.get(executionId)?.status;
    if (status === 'cancelled' || status === 'failed') {
      late.push({ taskId, executionId, attempt, jobId, ok: 'wait', until: new Date() });
      continue;
    }
    if (!existing && (status !== 'running' || !plan)) {
      releases.push({ taskId, executionId, attempt, jobId, ok: 'release', reason: 'The execution was paused before the child execution started' });
      continue;
    }
    const [task] = await tx.execute<{ id: string; workspaceId: string }>(sql`select id, workspace_id as "workspaceId" from tasks where ${fence(outcome)} for update`);
    if (!task) continue;
    // Only a new start carries a plan (checked above).
    const childId =
      existing ??
      (
        // Under the attempt's span: the child's trace is its parent's, one trace for the whole run.
        await underSpan(outcome.attemptSpan, () =>
          createExecution(tx, ctx.queue, plan!, {
            strategyId: plan!.strategyId,
            workspaceId: task.workspaceId,
            input: outcome.request.input ?? {},
            version: plan!.version,
            ...(createdBy ? { createdBy } : {}),
            parent: { executionId, taskId, attempt },
          }),
        )
      ).id;
    const [child] = await tx.execute<{ status: string }>(sql`select status from executions where id = ${childId}`);
    const waitSeconds = child && isTerminalStatus(child.status) ? 0 : pollSeconds;
    const [held] = await tx.execute<AssignedRow & LeftRunning & { wakeAt: string }>(sql`
      update tasks t set wake_at = now() + ${waitSeconds} * interval '1 second', lease_expires_at = null, worker_id = null, job_id = gen_random_uuid()::text,
        progress = jsonb_build_object('childExecutionId', ${childId}::text, 'waitingUntil', now() + ${waitSeconds} * interval '1 second'), updated_at = now()
      where t.id = ${taskId}
      returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal,
        t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", t.wake_at::text as "wakeAt", ${leftRunningColumns('t')}`);
    if (!held) continue;
    left.push(held);
    const { wakeAt, ...row } = held;
    await enqueue(tx, ctx.queue, [row], [], { startAfterSeconds: waitSeconds });
    events.push({ executionId, type: 'task-progress', data: { taskId, status: 'in_progress', childExecutionId: childId, waitingUntil: new Date(wakeAt).toISOString() } });
    recorded++;
  }
  return { recorded, late, releases, left };
}

/**
 * A child execution ended: its parent task, if it still waits for this child (the same attempt)
 * and its execution goes on, is queued to run now (waits/wake.ts). Runs in the transaction that
 * ends the child, holding the child's lock but not the parent's (ancestors are locked before
 * descendants, never after): so no promotion within the parent execution, and no event on it (its
 * log is written under its lock; the claim that follows has its own). The task's row is locked
 * first, whatever its state: that orders this wake against a hold of the same task
 * (holdForChildren), which reads the child's status only once it holds that row.
 */
export async function wakeParentTask(tx: Tx, queue: TaskQueue, parent: { taskId: string; attempt: number }): Promise<boolean> {
  await tx.execute(sql`select id from tasks where id = ${parent.taskId} for update`);
  const woken = await wakeWaitingTasks(
    tx,
    queue,
    sql`t.id = ${parent.taskId} and t.attempt = ${parent.attempt}
      and exists (select 1 from executions p where p.id = t.execution_id and p.status in ('running', 'paused'))`,
    { promote: false },
  );
  return woken.length > 0;
}
