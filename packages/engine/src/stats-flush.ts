import { sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { settleExecution } from './settle.ts';
import { lockExecutions, textArray, transaction } from './tx.ts';

/**
 * Task events that change an execution's counts (a task queued, started, finished, failed,
 * skipped or put back); a `task-progress` that only reports an agent's progress does not.
 */
const COUNTING_EVENT = sql`(v.type in ('task-assigned', 'task-completed', 'task-failed') or (v.type = 'task-progress' and not v.data ? 'progress'))`;

/**
 * The trailing edge of the coalesced health/metrics pair. `settleExecution` emits at most one
 * pair a second, so a task that finishes within a second of the last pair would leave the
 * watchers with stale counters until something else happens. This finds the unsettled
 * executions whose newest pair is older than a count-changing task event (and than
 * `minAgeMs`) and emits a fresh pair for each. The worker runs it every second; with
 * `executionIds` it looks only at those.
 */
export async function flushOwedStats(ctx: EngineContext, options: { minAgeMs?: number; executionIds?: readonly string[] } = {}): Promise<string[]> {
  const minAgeMs = options.minAgeMs ?? 1000;
  const only = options.executionIds ? sql`and e.id = any(${textArray(options.executionIds)})` : sql``;
  const owed = await ctx.db.execute<{ id: string }>(sql`
    select e.id from executions e
    where e.status in ('running', 'paused') and e.completed_at is null ${only}
      and (e.stats_emitted_at is null or e.stats_emitted_at <= now() - ${minAgeMs} * interval '1 millisecond')
      and exists (
        select 1 from execution_events v
        where v.execution_id = e.id and ${COUNTING_EVENT}
          and v.id > coalesce((select max(h.id) from execution_events h where h.execution_id = e.id and h.type = 'health-update'), 0))
    limit 500`);
  const flushed: string[] = [];
  for (const { id } of owed) {
    await transaction(ctx.db, async (tx) => {
      const execution = (await lockExecutions(tx, [id])).get(id);
      if (!execution || execution.settled) return;
      const events: NewEvent[] = [];
      await settleExecution(tx, ctx.queue, execution, events, { forceStats: true });
      await appendEvents(tx, events);
      flushed.push(id);
    });
  }
  return flushed;
}
