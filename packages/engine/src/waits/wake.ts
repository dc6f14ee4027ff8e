import { type SQL, sql } from 'drizzle-orm';
import { type AssignedRow, enqueue } from '../dispatch.ts';
import { cancelQueuedJobs } from '../queue-cleanup.ts';
import type { TaskQueue } from '../queue.ts';
import type { Tx } from '../tx.ts';

/**
 * The longest a task is held in one go while it waits for a person or a signal: one without a
 * deadline is held again after this (its agent finds nothing new and waits on), as is one whose
 * answer came while its execution is paused (resume wakes it sooner: see wakeReadyWaits).
 */
export const EXTERNAL_WAIT_MAX_HOLD_SECONDS = 30 * 24 * 3600;

/**
 * True (on `tasks t`) when what the task waits for has come: its approval was answered or timed
 * out, or its deadline passed; a signal of the name it waits for was sent, or its deadline passed.
 * A task asks for one approval or waits for one signal name, never both (approvals.ts, signals.ts),
 * so what was ready once stays ready only until the task completes.
 */
export const externalWaitReady = (t: SQL = sql.raw('t')) => sql`(
  exists (select 1 from approvals a where a.task_id = ${t}.id and (a.status <> 'pending' or a.timeout_at <= now()))
  or exists (select 1 from signal_waits w where w.task_id = ${t}.id and (w.deadline <= now()
    or exists (select 1 from execution_signals s where s.execution_id = w.execution_id and s.name = w.name))))`;

export type WokenTask = AssignedRow;

/**
 * Re-queues waiting tasks (`where`, on `tasks t`) to wake now: each gets a new job, due now,
 * and keeps its attempt. The task's `job_id` is what fences a job (a claim takes the task only
 * for the job it names), so the delayed job of the wait it was in claims nothing should it still
 * fire; it is cancelled too, while still queued, so no worker fetches it for nothing. The task
 * stays waiting (in progress, `wake_at` now) until the new job's claim: cancel still skips it,
 * and the lost-job sweep re-queues it should the job vanish. The caller holds the execution's
 * lock, or passes `promote: false` (a child's end waking its parent task: children/hold.ts).
 */
export async function wakeWaitingTasks(tx: Tx, queue: TaskQueue, where: SQL, options: { promote?: boolean } = {}): Promise<WokenTask[]> {
  const rows = await tx.execute<WokenTask & { previousJobId: string | null }>(sql`
    with target as (select t.id, t.job_id from tasks t where (${where}) and t.status = 'in_progress' and t.wake_at is not null for update)
    update tasks t set job_id = gen_random_uuid()::text, wake_at = now(), updated_at = now()
    from target where t.id = target.id
    returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal, t.attempt,
      t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", target.job_id as "previousJobId"`);
  if (rows.length === 0) return [];
  await cancelQueuedJobs(
    tx,
    rows.flatMap((row) => (row.previousJobId ? [{ agentType: row.agentType, jobId: row.previousJobId }] : [])),
  );
  const woken = rows.map(({ previousJobId: _, ...row }) => row);
  // A wake-up is the same attempt going on: no task-assigned event (a wait's own job has none either).
  await enqueue(tx, queue, woken, [], options);
  return woken;
}

/**
 * At resume: every waiting task of the execution whose approval or signal came (or whose
 * deadline passed) while it was paused goes on now.
 */
export function wakeReadyWaits(tx: Tx, queue: TaskQueue, executionId: string): Promise<WokenTask[]> {
  return wakeWaitingTasks(tx, queue, sql`t.execution_id = ${executionId} and ${externalWaitReady()}`);
}
