import { type SQL, sql } from 'drizzle-orm';
import { bumpCounts } from './counts.ts';
import type { SkipReason } from './contract.ts';
import type { NewEvent } from './events.ts';
import { passOn } from './throttle/release.ts';
import { leavesSleep } from './throttle/scopes.ts';
import type { Tx } from './tx.ts';

export type { SkipReason } from './contract.ts';

export type SkippedTask = {
  id: string;
  executionId: string;
  agentType: string;
  /** The job that was queued for the task, if any: it will claim nothing now. */
  jobId: string | null;
};

/**
 * Skips the tasks matching `where` (a condition on `tasks t`) and, like every other task state
 * change, gives each its event: `task-failed` with `status: "skipped"` (the status the task ends
 * in, as every `task-failed` names it), `willRetry: false` and the reason. The events go into
 * `events`, which the caller appends in the same transaction, after these changes and before
 * the execution's final event. The caller holds the executions' row locks.
 */
export async function skipTasks(tx: Tx, where: SQL, reason: SkipReason, events: NewEvent[]): Promise<SkippedTask[]> {
  const skipped = await tx.execute<SkippedTask & { throttleScope: string | null }>(sql`
    with target as (select t.id, t.job_id, t.throttle_scope from tasks t where ${where} for update)
    update tasks t set status = 'skipped', job_id = null, ${leavesSleep}, updated_at = now()
    from target where t.id = target.id
    returning t.id, t.execution_id as "executionId", t.agent_type as "agentType", target.job_id as "jobId", target.throttle_scope as "throttleScope"`);
  await bumpCounts(tx, 'skipped_tasks', skipped);
  await passOn(
    tx,
    skipped.map((t) => t.throttleScope),
  );
  for (const task of skipped) {
    events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'skipped', willRetry: false, reason } });
  }
  return skipped;
}

/**
 * Assigned tasks whose job fired while their execution was paused go back to `pending` (resume
 * queues them again); each gets a `task-progress` event naming its new status, `pending`, so a
 * live view does not keep showing them as assigned.
 */
export async function returnToReady(tx: Tx, where: SQL, events: NewEvent[]): Promise<SkippedTask[]> {
  const returned = await tx.execute<SkippedTask & { throttleScope: string | null }>(sql`
    with target as (select t.id, t.job_id, t.throttle_scope from tasks t where t.status = 'assigned' and ${where} for update)
    update tasks t set status = 'pending', job_id = null, ${leavesSleep}, updated_at = now()
    from target where t.id = target.id
    returning t.id, t.execution_id as "executionId", t.agent_type as "agentType", target.job_id as "jobId", target.throttle_scope as "throttleScope"`);
  await passOn(
    tx,
    returned.map((t) => t.throttleScope),
  );
  for (const task of returned) {
    events.push({ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, agentType: task.agentType, status: 'pending', reason: 'paused' } });
  }
  return returned;
}
