import type { AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { Executor } from '../tx.ts';
import { type AnalyticsRange, rangeBounds } from './range.ts';

export type ErrorPattern = {
  /** The message with its variable parts replaced: `<id>`, `<uuid>`, `<n>`. */
  pattern: string;
  /** Failed tasks whose error has this pattern. */
  count: number;
  /** One of their messages as it was (the first in text order). */
  example: string;
  lastSeenAt: string;
  agentTypes: AgentType[];
};

export interface ErrorAnalytics {
  workspaceId: string;
  range: AnalyticsRange;
  /** Failed tasks in the range (every pattern, not only those listed). */
  failedTasks: number;
  /** Distinct patterns in the range. */
  patternCount: number;
  /** The most frequent first (ties by pattern), at most `limit`. */
  patterns: ErrorPattern[];
}

export const ERROR_PATTERN_LIMITS = { default: 10, max: 50, patternLength: 300 } as const;

/** Id prefixes Strata writes (packages/db/src/ids.ts, and `exec_` for executions). */
const ID_PREFIXES = ['exec', 'ws', 'strat', 'l4', 'item', 'task', 'usr', 'tok', 'inv', 'sched'];

/**
 * An error message made comparable, in SQL: Strata ids, then UUIDs, then any number (digits,
 * with a decimal part) are replaced, runs of white space become one space, and the result is cut
 * to 300 characters. "Timed out after 300 s on task_ab12" and "Timed out after 120 s on task_cd34"
 * are then one pattern: "Timed out after <n> s on <id>".
 */
export const errorPatternSql = (column: ReturnType<typeof sql.raw>) => sql`
  left(btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(${column},
    ${`\\m(${ID_PREFIXES.join('|')})_[A-Za-z0-9_]+`}, '<id>', 'g'),
    '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
    '[0-9]+([.][0-9]+)?', '<n>', 'g'),
    '\\s+', ' ', 'g')), ${ERROR_PATTERN_LIMITS.patternLength})`;

/**
 * The most frequent error patterns of the tasks that failed in the range (their final error; a
 * retried attempt's error is replaced by the next attempt's outcome), grouped and counted by
 * PostgreSQL.
 */
export async function errorAnalytics(db: Executor, workspaceId: string, range: AnalyticsRange, limit: number = ERROR_PATTERN_LIMITS.default): Promise<ErrorAnalytics> {
  const { start, end } = rangeBounds(range);
  const rows = await db.execute<ErrorPattern & { failedTasks: number; patternCount: number }>(sql`
    select pattern, count(*)::int as count, min(error) as example,
      to_char(max(completed_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "lastSeenAt",
      array_agg(distinct agent_type order by agent_type) as "agentTypes",
      (sum(count(*)) over ())::int as "failedTasks",
      (count(*) over ())::int as "patternCount"
    from (
      select ${errorPatternSql(sql.raw('coalesce(error, \'\')'))} as pattern, coalesce(error, '') as error, completed_at, agent_type
      from tasks
      where workspace_id = ${workspaceId} and status = 'failed'
        and completed_at >= ${start.toISOString()}::timestamptz and completed_at < ${end.toISOString()}::timestamptz
    ) failed
    group by pattern
    order by count desc, pattern
    limit ${limit}`);
  const first = rows[0];
  // With a limit the totals still cover every pattern: the window sums run before LIMIT.
  const failedTasks = first?.failedTasks ?? 0;
  const patternCount = first?.patternCount ?? 0;
  return { workspaceId, range, failedTasks, patternCount, patterns: rows.map(({ failedTasks: _f, patternCount: _p, ...pattern }) => pattern) };
}
