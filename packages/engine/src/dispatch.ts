import { randomUUID } from 'node:crypto';
import type { AgentType, Priority } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { NewEvent } from './events.ts';
import type { QueuedJob, TaskQueue } from './queue.ts';
import { textArray, type Tx } from './tx.ts';

export const PRIORITY_RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

/** How long a job may stay active beyond its task's own timeout before pg-boss expires it. */
const JOB_EXPIRY_MARGIN_SECONDS = 120;

export type AssignedRow = {
  id: string;
  executionId: string;
  workspaceId: string;
  agentType: AgentType;
  priority: Priority;
  attempt: number;
  retryCount: number;
  timeoutSeconds: number;
  jobId: string;
  /** Seconds before this row's job may run (a retry whose backoff outlasted a pause). */
  notBeforeSeconds?: number | null;
};

export interface DispatchOptions {
  /** Delay before the job may run (retry backoff). */
  startAfterSeconds?: number;
}

/**
 * Moves pending tasks to `assigned` and enqueues their jobs in the same transaction, highest
 * priority first. Each job's pg-boss priority is minus its rank among its workspace's
 * outstanding tasks, so a fetch takes the first outstanding task of every workspace before the
 * second of any: a workspace with a 10,000-task backlog cannot starve one with three.
 */
export async function assignTasks(tx: Tx, queue: TaskQueue, taskIds: readonly string[], events: NewEvent[], options: DispatchOptions = {}): Promise<number> {
  if (taskIds.length === 0) return 0;
  // A pending task's wake_at is the end of a retry backoff that began while paused: its job
  // starts then, not at once.
  const assigned = await tx.execute<AssignedRow>(sql`
    update tasks t set status = 'assigned', assigned_at = now(), started_at = null, attempt = t.attempt + 1,
      job_id = gen_random_uuid()::text, worker_id = null, lease_expires_at = null, wake_at = null, updated_at = now()
    from (select id, wake_at from tasks where id = any(${textArray(taskIds)}) and status = 'pending' for update) old
    where t.id = old.id
    returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority,
      t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId",
      extract(epoch from old.wake_at - now())::float8 as "notBeforeSeconds"`);
  if (assigned.length === 0) return 0;
  await enqueue(tx, queue, [...assigned], events, options);
  return assigned.length;
}

/** Enqueues rows already marked assigned (a retry, or a sweep re-queueing a lost job). */
export async function enqueue(tx: Tx, queue: TaskQueue, rows: AssignedRow[], events: NewEvent[], options: DispatchOptions = {}): Promise<void> {
  const order = rows.map((row, index) => ({ row, index }));
  order.sort((a, b) => PRIORITY_RANK[a.row.priority] - PRIORITY_RANK[b.row.priority] || a.index - b.index);
  const workspaces = [...new Set(rows.map((r) => r.workspaceId))];
  const outstanding = await tx.execute<{ workspaceId: string; n: number }>(sql`
    select workspace_id as "workspaceId", count(*)::int as n from tasks
    where workspace_id = any(${textArray(workspaces)}) and status in ('assigned', 'in_progress')
    group by workspace_id`);
  const base = new Map(outstanding.map((o) => [o.workspaceId, o.n]));
  const batchSizes = new Map<string, number>();
  for (const row of rows) batchSizes.set(row.workspaceId, (batchSizes.get(row.workspaceId) ?? 0) + 1);
  const rankInBatch = new Map<string, number>();
  const jobs: QueuedJob[] = order.map(({ row }) => {
    const seen = rankInBatch.get(row.workspaceId) ?? 0;
    rankInBatch.set(row.workspaceId, seen + 1);
    // `outstanding` already counts this batch, so its first job ranks at (n - batch size).
    const batchSize = batchSizes.get(row.workspaceId) ?? 0;
    const rank = Math.max(0, (base.get(row.workspaceId) ?? 0) - batchSize) + seen;
    const startAfterSeconds = Math.max(options.startAfterSeconds ?? 0, row.notBeforeSeconds ?? 0);
    return {
      agentType: row.agentType,
      jobId: row.jobId ?? randomUUID(),
      job: { taskId: row.id, executionId: row.executionId, attempt: row.attempt },
      priority: -rank,
      expireInSeconds: row.timeoutSeconds + JOB_EXPIRY_MARGIN_SECONDS,
      ...(startAfterSeconds > 0 ? { startAfterSeconds } : {}),
    };
  });
  await queue.enqueue(tx, jobs);
  for (const { row } of order) {
    events.push({
      executionId: row.executionId,
      type: 'task-assigned',
      data: { taskId: row.id, agentType: row.agentType, priority: row.priority, attempt: row.attempt, retryCount: row.retryCount },
    });
  }
}

/** Pending tasks of an execution whose dependencies have all completed, highest priority first. */
export async function readyTaskIds(tx: Tx, executionId: string): Promise<string[]> {
  const rows = await tx.execute<{ id: string }>(sql`
    select id from tasks where execution_id = ${executionId} and status = 'pending' and pending_dependencies = 0
    order by case priority when 'high' then 0 when 'medium' then 1 else 2 end, id`);
  return rows.map((r) => r.id);
}
