import type { AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { Executor } from '../tx.ts';
import { type AnalyticsRange, rangeBounds } from './range.ts';

export type AgentDurations = {
  agentType: AgentType;
  /** Tasks that finished (completed + failed) in the range with a recorded start. */
  finished: number;
  completed: number;
  failed: number;
  /** Mean of completed_at − started_at over them, in whole milliseconds. */
  averageMs: number;
  /** 95th percentile of the same, linearly interpolated (PostgreSQL's percentile_cont), in whole milliseconds. */
  p95Ms: number;
};

export interface TaskAnalytics {
  workspaceId: string;
  range: AnalyticsRange;
  /** Agent types with at least one finished task in the range, by name. */
  agents: AgentDurations[];
}

/**
 * Task durations per agent type, over the tasks of the workspace that finished (completed or
 * failed, the day of completed_at in the range): the wall time of each task's last attempt, from
 * its start to its end. Earlier attempts of a retried task are not kept, so they do not count;
 * a task carried over by a re-run (`reused`, no agent ran) neither.
 */
export async function taskAnalytics(db: Executor, workspaceId: string, range: AnalyticsRange): Promise<TaskAnalytics> {
  const { start, end } = rangeBounds(range);
  const agents = await db.execute<AgentDurations>(sql`
    select agent_type as "agentType",
      count(*)::int as finished,
      count(*) filter (where status = 'completed')::int as completed,
      count(*) filter (where status = 'failed')::int as failed,
      round(avg(ms))::float8 as "averageMs",
      round(percentile_cont(0.95) within group (order by ms)::numeric)::float8 as "p95Ms"
    from (
      select agent_type, status, extract(epoch from completed_at - started_at) * 1000 as ms
      from tasks
      where workspace_id = ${workspaceId} and status in ('completed', 'failed')
        and completed_at >= ${start.toISOString()}::timestamptz and completed_at < ${end.toISOString()}::timestamptz
        and started_at is not null and not reused
    ) finished
    group by agent_type order by agent_type`);
  return { workspaceId, range, agents: [...agents] };
}
