import { sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import { type AssignedRow, assignTasks, enqueue } from './dispatch.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { recordOutcomes } from './runner.ts';
import { settleExecution } from './settle.ts';
import { returnToReady } from './skip.ts';
import { lockExecutions, textArray, transaction } from './tx.ts';

const SWEEP_LIMIT = 500;

/**
 * Tasks whose worker stopped renewing its lease (killed, partitioned): each counts as a failed
 * attempt and is retried elsewhere, fenced so the lost worker's late result is discarded.
 * Right after the database itself restarted, every lease looks lapsed; live workers get one
 * lease period to renew before anything is taken from them.
 */
export async function reapExpiredLeases(ctx: EngineContext, leaseSeconds: number): Promise<number> {
  const expired = await ctx.db.execute<{ id: string; executionId: string; attempt: number; workerId: string | null }>(sql`
    select id, execution_id as "executionId", attempt, worker_id as "workerId" from tasks
    where status = 'in_progress' and lease_expires_at < now()
      and pg_postmaster_start_time() < now() - ${leaseSeconds} * interval '1 second'
    order by lease_expires_at limit ${SWEEP_LIMIT}`);
  if (expired.length === 0) return 0;
  const { recorded } = await recordOutcomes(
    ctx,
    expired.map((t) => ({
      taskId: t.id,
      executionId: t.executionId,
      attempt: t.attempt,
      ok: false as const,
      error: `Worker ${t.workerId ?? 'unknown'} stopped renewing its lease`,
      retryable: true,
    })),
  );
  return recorded;
}

/**
 * Assigned tasks whose job will never claim them: the job is gone (failed, expired), or it has
 * been active longer than a lease without claiming (a claim takes milliseconds, so the worker
 * that fetched it died in between). Queued again under a new attempt; the old job, should it
 * ever run, is fenced off by its attempt number.
 */
export async function requeueLostJobs(ctx: EngineContext, leaseSeconds: number): Promise<number> {
  const lost = await ctx.db.execute<{ id: string; executionId: string }>(sql`
    select t.id, t.execution_id as "executionId" from tasks t
    where ((t.status = 'assigned' and t.assigned_at < now() - ${leaseSeconds} * interval '1 second')
        or (t.status = 'in_progress' and t.wake_at < now() - ${leaseSeconds} * interval '1 second'))
      and not exists (
        select 1 from pgboss.job j
        where j.name = 'agent.' || t.agent_type and j.id = t.job_id::uuid
          and (j.state in ('created', 'retry') or (j.state = 'active' and j.started_on > now() - ${leaseSeconds} * interval '1 second')))
    limit ${SWEEP_LIMIT}`);
  if (lost.length === 0) return 0;
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(
      tx,
      lost.map((t) => t.executionId),
    );
    const ids = lost.filter((t) => locked.get(t.executionId)?.status === 'running').map((t) => t.id);
    const paused = lost.filter((t) => locked.get(t.executionId)?.status === 'paused').map((t) => t.id);
    const events: NewEvent[] = [];
    if (paused.length > 0) await returnToReady(tx, sql`t.id = any(${textArray(paused)})`, events);
    // A waiting task keeps its attempt: only its wake-up job is queued again.
    const waiting = await tx.execute<AssignedRow>(sql`
      update tasks set job_id = gen_random_uuid()::text where id = any(${textArray(lost.map((t) => t.id))}) and status = 'in_progress' and wake_at is not null
      returning id, execution_id as "executionId", workspace_id as "workspaceId", agent_type as "agentType", priority, attempt,
        retry_count as "retryCount", timeout_seconds as "timeoutSeconds", job_id as "jobId"`);
    if (waiting.length > 0) await enqueue(tx, ctx.queue, [...waiting], []);
    // Back to pending under lock, then assigned again with a new attempt and job.
    const reset = await tx.execute<{ id: string }>(sql`
      update tasks set status = 'pending' where id = any(${textArray(ids)}) and status = 'assigned' returning id`);
    const count = await assignTasks(
      tx,
      ctx.queue,
      reset.map((r) => r.id),
      events,
    );
    await appendEvents(tx, events);
    return count + paused.length + waiting.length;
  });
}

/**
 * Refreshes coalesced health/metrics for running executions whose tasks have stalled. A task
 * in a durable wait (`wake_at` set) is not stalled, however long it waits: health.ts does not
 * count it either, so refreshing for it would only repeat the same pair every 30 s.
 */
export async function refreshStalledHealth(ctx: EngineContext): Promise<void> {
  const rows = await ctx.db.execute<{ id: string }>(sql`
    select distinct t.execution_id as id from tasks t join executions e on e.id = t.execution_id
    where t.status = 'in_progress' and t.wake_at is null and t.started_at + t.timeout_seconds * interval '1 second' < now()
      and (e.stats_emitted_at is null or e.stats_emitted_at < now() - interval '30 seconds')
    limit 100`);
  for (const { id } of rows) {
    await transaction(ctx.db, async (tx) => {
      const locked = await lockExecutions(tx, [id]);
      const execution = locked.get(id);
      if (!execution || execution.settled) return;
      const events: NewEvent[] = [];
      await settleExecution(tx, execution, events, { forceStats: true });
      await appendEvents(tx, events);
    });
  }
}
