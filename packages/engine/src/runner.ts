import type { AgentType, Priority } from '@strata/db';
import { sql } from 'drizzle-orm';
import { backoffMs, type EngineContext } from './context.ts';
import { bumpCounts } from './counts.ts';
import { assignTasks, enqueue } from './dispatch.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { skipUnstarted } from './lifecycle.ts';
import { formatBytes } from './limits.ts';
import type { TaskJob } from './queue.ts';
import { settleExecution } from './settle.ts';
import { returnToReady, skipTasks } from './skip.ts';
import { type ExecutionLockRow, jsonRows, lockExecutions, textArray, transaction, type Tx } from './tx.ts';

/** A task this worker now holds, with what its agent needs. */
export type ClaimedTask = {
  id: string;
  executionId: string;
  workspaceId: string;
  key: string;
  agentType: AgentType;
  description: string;
  input: Record<string, unknown>;
  dependencies: string[];
  attempt: number;
  retryCount: number;
  maxRetries: number;
  timeoutSeconds: number;
  resumedFromWait: boolean;
};

export type DependencyResult = {
  taskId: string;
  key: string;
  agentType: string;
  result: unknown;
};

/**
 * Claims the tasks of a batch of jobs: each job whose attempt is current and whose execution
 * is running becomes `in_progress` under this worker's lease. A job that fires while its
 * execution is paused puts its task back to ready (resume queues it again); a stale job
 * (older attempt, skipped task) claims nothing.
 */
export async function claimTasks(ctx: EngineContext, jobs: readonly TaskJob[], workerId: string, leaseSeconds: number): Promise<ClaimedTask[]> {
  if (jobs.length === 0) return [];
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(
      tx,
      jobs.map((j) => j.executionId),
    );
    const paused = jobs.filter((j) => locked.get(j.executionId)?.status === 'paused');
    if (paused.length > 0) {
      const returned: NewEvent[] = [];
      await returnToReady(
        tx,
        sql`(t.id, t.attempt) in (select j.id, j.attempt from jsonb_to_recordset(${jsonRows(paused.map((j) => ({ id: j.taskId, attempt: j.attempt })))}) as j(id text, attempt int))`,
        returned,
      );
      await appendEvents(tx, returned);
    }
    // A task whose wait ran out is in-flight work: it resumes while paused too.
    const resumable = jobs.filter((j) => ['running', 'paused'].includes(locked.get(j.executionId)?.status ?? ''));
    if (resumable.length === 0) return [];
    const claimed = await tx.execute<ClaimedTask>(sql`
      with target as (
        select t.id, t.wake_at is not null as resumed from tasks t
        join jsonb_to_recordset(${jsonRows(resumable.map((j) => ({ id: j.taskId, attempt: j.attempt, running: locked.get(j.executionId)?.status === 'running' })))})
          as j(id text, attempt int, running boolean) on t.id = j.id and t.attempt = j.attempt
        where (t.status = 'assigned' and j.running) or (t.status = 'in_progress' and t.wake_at is not null)
        for update of t
      )
      update tasks t set status = 'in_progress', started_at = now(),
        wake_at = null, worker_id = ${workerId}, lease_expires_at = now() + ${leaseSeconds} * interval '1 second', updated_at = now()
      from target where t.id = target.id
      returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.key, t.agent_type as "agentType",
        t.description, t.input, t.dependencies, t.attempt, t.retry_count as "retryCount", t.max_retries as "maxRetries",
        t.timeout_seconds as "timeoutSeconds", target.resumed as "resumedFromWait"`);
    await appendEvents(
      tx,
      claimed.map((task) => ({
        executionId: task.executionId,
        type: 'task-progress' as const,
        data: { taskId: task.id, status: 'in_progress', agentType: task.agentType, attempt: task.attempt, workerId },
      })),
    );
    return [...claimed].map((task) => ({ ...task, input: task.input ?? {} }));
  });
}

/**
 * The results of the tasks these tasks depend on, keyed by task id. Each result is capped, but
 * a task may have a thousand dependencies: their sizes are read first, and a task whose
 * dependencies' results together pass `maxBytesPerTask` is refused (with the reason) instead
 * of loading them into this process.
 */
export async function loadDependencyResults(
  ctx: EngineContext,
  claimed: readonly ClaimedTask[],
  maxBytesPerTask: number,
): Promise<{ results: Map<string, DependencyResult>; refused: Map<string, string> }> {
  const results = new Map<string, DependencyResult>();
  const refused = new Map<string, string>();
  const ids = [...new Set(claimed.flatMap((t) => t.dependencies))];
  if (ids.length === 0) return { results, refused };
  const sizes = await ctx.db.execute<{ id: string; bytes: number }>(sql`
    select id, coalesce(octet_length(result::text), 0)::float8 as bytes from tasks where id = any(${textArray(ids)})`);
  const bytesOf = new Map(sizes.map((r) => [r.id, Number(r.bytes)]));
  const needed = new Set<string>();
  for (const task of claimed) {
    const total = task.dependencies.reduce((sum, id) => sum + (bytesOf.get(id) ?? 0), 0);
    if (total > maxBytesPerTask) {
      refused.set(task.id, `Dependency results too large: ${task.dependencies.length} results, ${formatBytes(total)} in total (limit ${formatBytes(maxBytesPerTask)})`);
    } else {
      for (const id of task.dependencies) needed.add(id);
    }
  }
  if (needed.size === 0) return { results, refused };
  const rows = await ctx.db.execute<DependencyResult>(sql`
    select id as "taskId", key, agent_type as "agentType", result from tasks where id = any(${textArray([...needed])})`);
  for (const row of rows) results.set(row.taskId, row);
  return { results, refused };
}

export type AttemptOutcome =
  | { taskId: string; executionId: string; attempt: number; ok: true; result: unknown }
  | { taskId: string; executionId: string; attempt: number; ok: false; error: string; retryable: boolean }
  | { taskId: string; executionId: string; attempt: number; ok: 'wait'; until: Date };

type FailedRow = {
  id: string;
  executionId: string;
  key: string;
  retryCount: number;
  maxRetries: number;
  agentType: string;
};

/**
 * Records the outcomes of attempts in one transaction: results, counts, dependents that
 * became ready (queued once: the dependent's counter is decremented under its row lock, so
 * exactly one completion sees it reach zero), retries with backoff, failure policy, the end
 * of the execution, and the events. An outcome whose attempt was superseded is discarded.
 */
export async function recordOutcomes(ctx: EngineContext, outcomes: readonly AttemptOutcome[]): Promise<{ recorded: number }> {
  if (outcomes.length === 0) return { recorded: 0 };
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(
      tx,
      outcomes.map((o) => o.executionId),
    );
    const events: NewEvent[] = [];
    let recorded = 0;

    const successes = outcomes.filter((o): o is Extract<AttemptOutcome, { ok: true }> => o.ok === true);
    if (successes.length > 0) {
      const done = await tx.execute<{ id: string; executionId: string; agentType: string; durationMs: number }>(sql`
        update tasks t set status = 'completed', result = j.result, error = null, completed_at = now(),
          lease_expires_at = null, progress = null, updated_at = now()
        from jsonb_to_recordset(${jsonRows(successes.map((o) => ({ id: o.taskId, attempt: o.attempt, result: o.result ?? null })))})
          as j(id text, attempt int, result jsonb)
        where t.id = j.id and t.attempt = j.attempt and t.status = 'in_progress'
        returning t.id, t.execution_id as "executionId", t.agent_type as "agentType",
          (extract(epoch from now() - t.started_at) * 1000)::int as "durationMs"`);
      recorded += done.length;
      for (const task of done) {
        events.push({ executionId: task.executionId, type: 'task-completed', data: { taskId: task.id, agentType: task.agentType, status: 'completed', durationMs: task.durationMs } });
      }
      await bumpCounts(tx, 'completed_tasks', done);
      await releaseDependents(
        ctx,
        tx,
        done.map((d) => d.id),
        locked,
        events,
      );
    }

    const failures = outcomes.filter((o): o is Extract<AttemptOutcome, { ok: false }> => o.ok === false);
    for (const failure of failures) {
      recorded += await recordFailure(ctx, tx, failure, locked, events);
    }

    const waits = outcomes.filter((o): o is Extract<AttemptOutcome, { ok: 'wait' }> => o.ok === 'wait');
    if (waits.length > 0) recorded += await holdUntil(ctx, tx, waits, locked, events);

    for (const execution of locked.values()) await settleExecution(tx, execution, events);
    await appendEvents(tx, events);
    return { recorded };
  });
}

async function releaseDependents(ctx: EngineContext, tx: Tx, completedIds: readonly string[], locked: Map<string, { status: string }>, events: NewEvent[]) {
  if (completedIds.length === 0) return;
  const released = await tx.execute<{ id: string; executionId: string; pendingDependencies: number; status: string }>(sql`
    update tasks d set pending_dependencies = d.pending_dependencies - c.n, updated_at = now()
    from (select task_id, count(*)::int as n from task_dependencies where depends_on_task_id = any(${textArray(completedIds)}) group by task_id) c
    where d.id = c.task_id
    returning d.id, d.execution_id as "executionId", d.pending_dependencies as "pendingDependencies", d.status`);
  const ready = released.filter((r) => r.pendingDependencies === 0 && r.status === 'pending' && locked.get(r.executionId)?.status === 'running');
  await assignTasks(
    tx,
    ctx.queue,
    ready.map((r) => r.id),
    events,
  );
}

async function recordFailure(
  ctx: EngineContext,
  tx: Tx,
  failure: Extract<AttemptOutcome, { ok: false }>,
  locked: Map<string, ExecutionLockRow>,
  events: NewEvent[],
): Promise<number> {
  const [task] = await tx.execute<FailedRow>(sql`
    select id, execution_id as "executionId", key, retry_count as "retryCount", max_retries as "maxRetries", agent_type as "agentType"
    from tasks where id = ${failure.taskId} and attempt = ${failure.attempt} and status = 'in_progress' for update`);
  if (!task) return 0; // superseded attempt: discard
  const execution = locked.get(task.executionId)!;
  const retriesLeft = failure.retryable && task.retryCount < task.maxRetries;
  const error = failure.error.slice(0, 4000);

  if (retriesLeft && (execution.status === 'running' || execution.status === 'paused')) {
    const retry = task.retryCount + 1;
    const delayMs = backoffMs(ctx.retry, retry);
    events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'pending', error, retryCount: retry, maxRetries: task.maxRetries, willRetry: true, retryInMs: delayMs } });
    await tx.execute(sql`
      update tasks set status = 'pending', retry_count = ${retry}, error = ${error}, lease_expires_at = null, worker_id = null, progress = null, updated_at = now()
      where id = ${task.id}`);
    // Paused: stays ready; resume queues it. Running: queued now to start after the backoff.
    if (execution.status === 'running') await assignTasks(tx, ctx.queue, [task.id], events, { startAfterSeconds: delayMs / 1000 });
    return 1;
  }

  if (retriesLeft) {
    // The execution was cancelled or failed while this attempt ran: it will not run again.
    await tx.execute(sql`update tasks set status = 'skipped', error = ${error}, lease_expires_at = null, updated_at = now() where id = ${task.id}`);
    await bumpCounts(tx, 'skipped_tasks', [task]);
    events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'skipped', error, retryCount: task.retryCount, maxRetries: task.maxRetries, willRetry: false } });
    return 1;
  }

  await tx.execute(sql`
    update tasks set status = 'failed', error = ${error}, completed_at = now(), lease_expires_at = null, updated_at = now()
    where id = ${task.id}`);
  await bumpCounts(tx, 'failed_tasks', [task]);
  events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'failed', error, retryCount: task.retryCount, maxRetries: task.maxRetries, willRetry: false } });

  if (execution.status === 'running' || execution.status === 'paused') {
    if (execution.onTaskFailure === 'continue') {
      await skipDependents(tx, task.id, events);
    } else {
      const message = `Task "${task.key}" failed: ${error}`;
      await tx.execute(sql`update executions set status = 'failed', error = ${message}, updated_at = now() where id = ${task.executionId}`);
      execution.status = 'failed';
      await skipUnstarted(tx, [task.executionId], 'execution-failed', events);
    }
  }
  return 1;
}

/**
 * Agents that asked to wait: the task stays in_progress with its wake-up time, holds no lease
 * and no worker slot, and a job for the same attempt is queued to fire at that time.
 */
async function holdUntil(ctx: EngineContext, tx: Tx, waits: Extract<AttemptOutcome, { ok: 'wait' }>[], locked: Map<string, ExecutionLockRow>, events: NewEvent[]): Promise<number> {
  const held = await tx.execute<{ id: string; executionId: string; workspaceId: string; agentType: AgentType; priority: Priority; attempt: number; retryCount: number; timeoutSeconds: number; jobId: string; wakeAt: string }>(sql`
    update tasks t set wake_at = j.until, lease_expires_at = null, worker_id = null, job_id = gen_random_uuid()::text,
      progress = jsonb_build_object('waitingUntil', j.until), updated_at = now()
    from jsonb_to_recordset(${jsonRows(waits.map((w) => ({ id: w.taskId, attempt: w.attempt, until: w.until.toISOString() })))}) as j(id text, attempt int, until timestamptz)
    where t.id = j.id and t.attempt = j.attempt and t.status = 'in_progress'
    returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority,
      t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", j.until::text as "wakeAt"`);
  for (const task of held) {
    const execution = locked.get(task.executionId);
    if (execution?.status === 'cancelled' || execution?.status === 'failed') continue;
    const delaySeconds = Math.max(0, (new Date(task.wakeAt).getTime() - Date.now()) / 1000);
    await enqueue(tx, ctx.queue, [task], [], { startAfterSeconds: delaySeconds });
    events.push({ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, status: 'in_progress', waitingUntil: new Date(task.wakeAt).toISOString() } });
  }
  return held.length;
}

/** With onTaskFailure "continue": skip everything downstream of the failed task, nothing else. */
async function skipDependents(tx: Tx, taskId: string, events: NewEvent[]): Promise<void> {
  await skipTasks(
    tx,
    sql`t.id in (
      with recursive downstream(id) as (
        select task_id from task_dependencies where depends_on_task_id = ${taskId}
        union
        select td.task_id from task_dependencies td join downstream d on td.depends_on_task_id = d.id
      )
      select id from downstream) and t.status in ('pending', 'assigned')`,
    'dependency-failed',
    events,
  );
}

/** An agent's progress report: stored on the task and appended as `task-progress`. */
export async function reportProgress(ctx: EngineContext, task: { id: string; executionId: string; attempt: number }, progress: Record<string, unknown>): Promise<boolean> {
  return transaction(ctx.db, async (tx) => {
    await lockExecutions(tx, [task.executionId]);
    const updated = await tx.execute(sql`
      update tasks set progress = ${JSON.stringify(progress)}::jsonb, updated_at = now()
      where id = ${task.id} and attempt = ${task.attempt} and status = 'in_progress' returning id`);
    if (updated.length === 0) return false;
    await appendEvents(tx, [{ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, status: 'in_progress', progress } }]);
    return true;
  });
}

/** Keeps this worker's leases alive; returns the ids it no longer holds. */
export async function renewLeases(ctx: EngineContext, workerId: string, held: readonly { id: string; attempt: number }[], leaseSeconds: number): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  const renewed = await ctx.db.execute<{ id: string }>(sql`
    update tasks t set lease_expires_at = now() + ${leaseSeconds} * interval '1 second'
    from jsonb_to_recordset(${jsonRows(held)}) as j(id text, attempt int)
    where t.id = j.id and t.attempt = j.attempt and t.status = 'in_progress' and t.worker_id = ${workerId}
    returning t.id`);
  const kept = new Set(renewed.map((r) => r.id));
  return new Set(held.map((h) => h.id).filter((id) => !kept.has(id)));
}

