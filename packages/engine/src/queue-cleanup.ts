import { sql } from 'drizzle-orm';
import { agentQueue } from './queue.ts';
import { jsonRows, type Tx } from './tx.ts';

/** A task's job, as the task row names it (`tasks.job_id`, queue `agent.<agent_type>`). */
export interface TaskJobRef {
  agentType: string;
  jobId: string;
}

/**
 * Cancels, in the caller's transaction, the jobs of tasks that will no longer run (cancel,
 * pause, a failed execution's skipped tasks), so no worker fetches them only to claim nothing
 * while locking the execution row. Only jobs still queued (`created`, or `retry` waiting for
 * pg-boss's own retry) are touched: a job a worker already holds (`active`) is fenced off by
 * its claim, and pg-boss expects its holder to settle it.
 *
 * This is pg-boss's own `cancel` statement (state `cancelled`, `completed_on` now), run on the
 * caller's connection as `queue.ts` runs `insert`: pg-boss 12's `cancel(name, ids, { db })`
 * takes one queue per call, this takes the jobs of every agent queue in one statement. The
 * cancelled rows go with pg-boss's usual retention.
 */
export async function cancelQueuedJobs(tx: Tx, jobs: readonly TaskJobRef[]): Promise<number> {
  if (jobs.length === 0) return 0;
  const rows = jobs.map((job) => ({ name: agentQueue(job.agentType), id: job.jobId }));
  const cancelled = await tx.execute(sql`
    update pgboss.job j set state = 'cancelled', completed_on = pgboss.job_now()
    from jsonb_to_recordset(${jsonRows(rows)}) as c(name text, id uuid)
    where j.name = c.name and j.id = c.id and j.state in ('created', 'retry')
    returning j.id`);
  return cancelled.length;
}
