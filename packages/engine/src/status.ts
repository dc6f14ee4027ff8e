import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { ExecutionStatusBody, TaskView } from './contract.ts';
import { notFound } from './errors.ts';
import { computeHealth, computeMetrics, type ExecutionStats, foldStats, type StatsRow, statsQuery } from './health.ts';

export type { ExecutionStatusBody, TaskView } from './contract.ts';

const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * The seed's status body — execution, health, tasks, metrics — and the id of the newest event,
 * from one statement (one snapshot, so the body is the state at exactly that event). The tasks
 * come back as JSON text built by PostgreSQL: a caller that only re-serialises them (REST)
 * passes the text through untouched.
 */
export async function getExecutionStatusParts(db: Db, executionId: string): Promise<ExecutionStatusParts> {
  const [row] = await db.execute<{ execution: ExecutionStatusBody['execution'] | null; tasks: string; stats: StatsRow[] | null; version: number | null; lastEventId: number }>(sql`
    select
      (select version from executions where id = ${executionId}) as version,
      coalesce((select max(id) from execution_events where execution_id = ${executionId}), 0)::int8::float8 as "lastEventId",
      (select json_build_object('id', e.id, 'status', e.status, 'strategyId', e.strategy_id, 'strategyVersion', e.strategy_version, 'workspaceId', e.workspace_id,
          'startedAt', ${iso('e.started_at')}, 'completedAt', ${iso('e.completed_at')}, 'totalTasks', e.total_tasks,
          'completedTasks', e.completed_tasks, 'failedTasks', e.failed_tasks, 'error', e.error)
        from executions e where e.id = ${executionId}) as execution,
      (select coalesce(json_agg(json_build_object('id', t.id, 'l4_item_id', t.l4_item_id, 'execution_id', t.execution_id,
          'key', t.key, 'agent_type', t.agent_type, 'status', t.status, 'priority', t.priority, 'description', t.description,
          'dependencies', t.dependencies, 'assigned_at', ${iso('t.assigned_at')}, 'started_at', ${iso('t.started_at')},
          'completed_at', ${iso('t.completed_at')}, 'wake_at', ${iso('t.wake_at')}, 'result', t.result, 'error', t.error, 'progress', t.progress,
          'retry_count', t.retry_count, 'max_retries', t.max_retries, 'skip_reason', skips.reason) order by t.id), '[]')::text
        from tasks t
        -- The reason a task was skipped lives in its skip event (the log is the record of why).
        left join (select distinct on (v.data->>'taskId') v.data->>'taskId' as task_id, v.data->>'reason' as reason
            from execution_events v
            where v.execution_id = ${executionId} and v.type = 'task-failed' and v.data->>'status' = 'skipped'
            order by v.data->>'taskId', v.id desc) skips on skips.task_id = t.id and t.status = 'skipped'
        where t.execution_id = ${executionId}) as tasks,
      (select json_agg(s) from (${statsQuery(executionId)}) s) as stats`);
  if (!row?.execution) throw notFound('Execution not found');
  return { version: row.version ?? 0, lastEventId: Number(row.lastEventId), execution: row.execution, tasks: row.tasks, stats: foldStats(row.stats ?? []) };
}

/** What the status body is made of; health and metrics are derived at answer time (they depend on now). */
export interface ExecutionStatusParts {
  version: number;
  /** The newest event in the log as of the same snapshot: the body is exactly the state at this id. */
  lastEventId: number;
  execution: ExecutionStatusBody['execution'];
  /** The tasks as JSON text. */
  tasks: string;
  stats: ExecutionStats;
}

/** Assembles the status body from its parts at a given moment. */
export function statusBody<T>(parts: ExecutionStatusParts, tasks: T, now: Date = new Date()): ExecutionStatusBody<T> {
  const { execution, stats } = parts;
  return {
    execution,
    health: computeHealth(stats, now),
    tasks,
    metrics: computeMetrics(stats, execution.startedAt ? new Date(execution.startedAt) : null, execution.completedAt ? new Date(execution.completedAt) : null, now),
  };
}

/** The status body with the tasks parsed. */
export async function getExecutionStatus(db: Db, executionId: string): Promise<ExecutionStatusBody> {
  const parts = await getExecutionStatusParts(db, executionId);
  return statusBody(parts, JSON.parse(parts.tasks) as TaskView[]);
}
