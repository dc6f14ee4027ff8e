import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';
import { textArray, transaction } from '../tx.ts';

/** Executions whose log one transaction prunes: each batch is short, and a worker stopping mid-way loses nothing. */
const BATCH = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the event log of executions that finished (completed, failed or cancelled, settled)
 * more than `retentionDays` before `now`, all but each one's final event (`execution-completed`,
 * `execution-cancelled`, or `error`). The execution row (final state, counts, error, times), its
 * tasks (results, errors, retries) and so its health and metrics stay: the status body is built
 * from them. Each skipped task's reason, read from its skip event until now, is copied onto the
 * task first. A running or paused execution (or a failed one whose last tasks still run) is never
 * touched. Returns how many events were removed.
 */
export async function pruneExecutionEvents(db: Db, options: { retentionDays: number; now: Date }): Promise<number> {
  if (options.retentionDays <= 0) return 0;
  const cutoff = new Date(options.now.getTime() - options.retentionDays * DAY_MS).toISOString();
  let removed = 0;
  for (;;) {
    const { executions, events } = await transaction(db, async (tx) => {
      // SKIP LOCKED: a finished execution is locked only by a re-run reading it; it is pruned next time.
      const batch = await tx.execute<{ id: string }>(sql`
        select id from executions
        where completed_at is not null and events_pruned_at is null and completed_at < ${cutoff}::timestamptz
          and status in ('completed', 'failed', 'cancelled')
        order by completed_at limit ${BATCH} for update skip locked`);
      if (batch.length === 0) return { executions: 0, events: 0 };
      const ids = textArray(batch.map((row) => row.id));
      await tx.execute(sql`
        update tasks t set skip_reason = s.reason
        from (select distinct on (v.data->>'taskId') v.data->>'taskId' as task_id, v.data->>'reason' as reason
              from execution_events v
              where v.execution_id = any(${ids}) and v.type = 'task-failed' and v.data->>'status' = 'skipped'
              order by v.data->>'taskId', v.id desc) s
        where t.id = s.task_id and t.status = 'skipped' and t.skip_reason is null`);
      // The final event is the last of those types; an execution without one (none should exist) keeps its whole log.
      const deleted = await tx.execute<{ n: number }>(sql`
        with final as (
          select execution_id, max(id) as id from execution_events
          where execution_id = any(${ids}) and type in ('execution-completed', 'execution-cancelled', 'error')
          group by execution_id),
        gone as (
          delete from execution_events v using final f
          where v.execution_id = f.execution_id and v.id <> f.id
          returning 1)
        select count(*)::int as n from gone`);
      await tx.execute(sql`update executions set events_pruned_at = ${options.now.toISOString()}::timestamptz where id = any(${ids})`);
      return { executions: batch.length, events: deleted[0]?.n ?? 0 };
    });
    removed += events;
    if (executions < BATCH) return removed;
  }
}
