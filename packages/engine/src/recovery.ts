import { sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import { type AssignedRow, assignTasks, enqueue } from './dispatch.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { recordOutcomes } from './runner.ts';
import { settleExecution } from './settle.ts';
import { hookPoint } from './hooks.ts';
import { returnToReady } from './skip.ts';
import { jsonRows, lockExecutions, transaction } from './tx.ts';

const SWEEP_LIMIT = 500;

/**
 * Tasks whose worker stopped renewing its lease (killed, partitioned): each counts as a failed
 * attempt and is retried elsewhere, fenced so the lost worker's late result is discarded. The
 * candidates are read without locks; each is failed only if, under its execution's lock and its
 * own row lock, the same attempt is still in progress with its lease still lapsed, so a lease
 * renewed in between, or a task two sweeps both saw, is reaped at most once and never while live.
 * (A worker calls this only when its own view of the database is settled: see the worker.)
 */
export async function reapExpiredLeases(ctx: EngineContext, leaseSeconds: number): Promise<number> {
  void leaseSeconds;
  const expired = await ctx.db.execute<{ id: string; executionId: string; attempt: number; workerId: string | null }>(sql`
    select id, execution_id as "executionId", attempt, worker_id as "workerId" from tasks
    where status = 'in_progress' and wake_at is null and lease_expires_at < now()
    order by lease_expires_at limit ${SWEEP_LIMIT}`);
  if (expired.length === 0) return 0;
  await hookPoint('recovery:before-reap', { taskIds: expired.map((t) => t.id) });
  const { recorded } = await recordOutcomes(
    ctx,
    expired.map((t) => ({
      taskId: t.id,
      executionId: t.executionId,
      attempt: t.attempt,
      ok: false as const,
      error: `Worker ${t.workerId ?? 'unknown'} stopped renewing its lease`,
      retryable: true,
      leaseLapsed: true,
    })),
  );
  return recorded;
}

/**
 * Assigned tasks whose job will never claim them: the job is gone (failed, expired), or it has
 * been active longer than a lease without claiming (a claim takes milliseconds, so the worker
 * that fetched it died in between). Queued again under a new attempt and job; the old job,
 * should it ever run, is fenced off by its job id. Every change is conditional, under the
 * lock, on the task still holding the job the sweep saw, so two sweeps that saw the same lost
 * job re-queue it once.
 */
export async function requeueLostJobs(ctx: EngineContext, leaseSeconds: number): Promise<number> {
  const lost = await ctx.db.execute<{ id: string; executionId: string; jobId: string | null }>(sql`
    select t.id, t.execution_id as "executionId", t.job_id as "jobId" from tasks t
    where ((t.status = 'assigned' and t.assigned_at < now() - ${leaseSeconds} * interval '1 second')
        or (t.status = 'in_progress' and t.wake_at < now() - ${leaseSeconds} * interval '1 second'))
      and not exists (
        select 1 from pgboss.job j
        where j.name = 'agent.' || t.agent_type and j.id = t.job_id::uuid
          and (j.state in ('created', 'retry') or (j.state = 'active' and j.started_on > now() - ${leaseSeconds} * interval '1 second')))
    limit ${SWEEP_LIMIT}`);
  if (lost.length === 0) return 0;
  await hookPoint('recovery:before-requeue', { taskIds: lost.map((t) => t.id) });
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(
      tx,
      lost.map((t) => t.executionId),
    );
    const seen = (rows: readonly { id: string; jobId: string | null }[]) => jsonRows(rows.map((t) => ({ id: t.id, job_id: t.jobId })));
    const statusOf = (t: { executionId: string }) => locked.get(t.executionId)?.status;
    const paused = lost.filter((t) => statusOf(t) === 'paused');
    const events: NewEvent[] = [];
    // Paused: back to ready (with its event), only if the task still holds the job the sweep saw.
    const pausedBack =
      paused.length === 0 ? [] : await returnToReady(tx, sql`(t.id, t.job_id) in (select j.id, j.job_id from jsonb_to_recordset(${seen(paused)}) as j(id text, job_id text))`, events);
    // A waiting task keeps its attempt: only its wake-up job is queued again.
    const waiting = await tx.execute<AssignedRow>(sql`
      update tasks t set job_id = gen_random_uuid()::text from jsonb_to_recordset(${seen(lost)}) as j(id text, job_id text)
      where t.id = j.id and t.job_id = j.job_id and t.status = 'in_progress' and t.wake_at is not null
      returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal, t.attempt,
        t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId"`);
    if (waiting.length > 0) await enqueue(tx, ctx.queue, [...waiting], []);
    // Back to pending under lock, then assigned again with a new attempt and job.
    const reset = await tx.execute<{ id: string }>(sql`
      update tasks t set status = 'pending' from jsonb_to_recordset(${seen(lost.filter((t) => statusOf(t) === 'running'))}) as j(id text, job_id text)
      where t.id = j.id and t.job_id = j.job_id and t.status = 'assigned' returning t.id`);
    const count = await assignTasks(
      tx,
      ctx.queue,
      reset.map((r) => r.id),
      events,
    );
    await appendEvents(tx, events);
    return count + pausedBack.length + waiting.length;
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
      await settleExecution(tx, ctx.queue, execution, events, { forceStats: true });
      await appendEvents(tx, events);
    });
  }
}
