import { sql } from 'drizzle-orm';
import type { Executor } from '../tx.ts';
import { type AnalyticsRange, rangeBounds } from './range.ts';

/** Finished executions of one day (or of the whole range), by final status. */
export type ExecutionCounts = {
  completed: number;
  failed: number;
  cancelled: number;
  /** completed + failed + cancelled. */
  finished: number;
  /** completed / finished, 0–1 to 4 places; null when none finished. */
  successRate: number | null;
  /** The mean of the health scores (0–100) they ended with, to 1 place; null when none has one. */
  averageHealth: number | null;
};

export interface ExecutionAnalytics {
  workspaceId: string;
  range: AnalyticsRange;
  totals: ExecutionCounts;
  /** Every day of the range, oldest first, days without a finished execution included (zeros). */
  days: (ExecutionCounts & { date: string })[];
}

type Row = ExecutionCounts & { date: string | null };

/**
 * Executions by the UTC day they finished (completed_at: when they reached completed, failed or
 * cancelled), one row per day of the range plus the range's totals (the grouping set `()`), all
 * counted and averaged by PostgreSQL.
 */
export async function executionAnalytics(db: Executor, workspaceId: string, range: AnalyticsRange): Promise<ExecutionAnalytics> {
  const { start, end } = rangeBounds(range);
  const rows = await db.execute<Row>(sql`
    with days as (
      select d::date as day from generate_series(${range.from}::date, ${range.to}::date, interval '1 day') d
    ),
    finished as (
      select (completed_at at time zone 'UTC')::date as day, status, health_score
      from executions
      where workspace_id = ${workspaceId} and completed_at is not null
        and completed_at >= ${start.toISOString()}::timestamptz and completed_at < ${end.toISOString()}::timestamptz
        and status in ('completed', 'failed', 'cancelled')
    ),
    counted as (
      select to_char(d.day, 'YYYY-MM-DD') as date,
        count(f.status) filter (where f.status = 'completed')::int as completed,
        count(f.status) filter (where f.status = 'failed')::int as failed,
        count(f.status) filter (where f.status = 'cancelled')::int as cancelled,
        count(f.status)::int as finished,
        round(avg(f.health_score), 1)::float8 as "averageHealth"
      from days d left join finished f on f.day = d.day
      group by grouping sets ((d.day), ())
    )
    select *, round(completed::numeric / nullif(finished, 0), 4)::float8 as "successRate"
    from counted order by date nulls last`);
  const days: ExecutionAnalytics['days'] = [];
  let totals: ExecutionCounts | undefined;
  for (const { date, ...counts } of rows) {
    if (date === null) totals = counts;
    else days.push({ date, ...counts });
  }
  return { workspaceId, range, totals: totals ?? { completed: 0, failed: 0, cancelled: 0, finished: 0, successRate: null, averageHealth: null }, days };
}
