import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';
import { type ExecutionStatusBody, SEED_TASK_FIELDS, TASK_INCLUDE_FIELDS, TASK_INCLUDES, type TaskInclude, type TaskView } from './contract.ts';
import { notFound } from './errors.ts';
import { computeHealth, computeMetrics, type ExecutionStats, foldStats, type StatsRow, statsQuery } from './health.ts';

export type { ExecutionStatusBody, StatusTask, TaskInclude, TaskView } from './contract.ts';

const isoText = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const iso = (column: string) => sql.raw(isoText(column));

/**
 * The seed's status body — execution, health, tasks, metrics — and the id of the newest event,
 * from one statement (one snapshot, so the body is the state at exactly that event). The tasks
 * come back as JSON text built by PostgreSQL: a caller that only re-serialises them (REST)
 * passes the text through untouched.
 */
/** SQL for each task field of the status body. */
const TASK_FIELD_SQL: Record<keyof TaskView, string> = {
  id: 't.id',
  l4_item_id: 't.l4_item_id',
  execution_id: 't.execution_id',
  key: 't.key',
  agent_type: 't.agent_type',
  status: 't.status',
  priority: 't.priority',
  description: 't.description',
  dependencies: 't.dependencies',
  assigned_at: isoText('t.assigned_at'),
  started_at: isoText('t.started_at'),
  completed_at: isoText('t.completed_at'),
  wake_at: isoText('t.wake_at'),
  result: 't.result',
  error: 't.error',
  progress: 't.progress',
  retry_count: 't.retry_count',
  max_retries: 't.max_retries',
  // Retention copies the reason onto the task when it removes the skip event.
  skip_reason: 'coalesce(t.skip_reason, skips.reason)',
  reused: 't.reused',
  // A throttled task's progress says which limit holds it (throttle/admit.ts).
  throttle: 'case when t.throttle_scope is not null then t.progress end',
};

/** Every optional part of the tasks: what the engine's own callers (and tests) read. */
const ALL_TASK_INCLUDES: readonly TaskInclude[] = TASK_INCLUDES;

/** The task fields for a set of includes, in the contract's order. */
function taskFields(include: readonly TaskInclude[]): (keyof TaskView)[] {
  const fields = new Set<keyof TaskView>([...SEED_TASK_FIELDS, ...include.flatMap((part) => TASK_INCLUDE_FIELDS[part])]);
  return (Object.keys(TASK_FIELD_SQL) as (keyof TaskView)[]).filter((field) => fields.has(field));
}

/** A task row (`t`, with the skip reason joined as `skips`) as a JSON object of these fields. */
const taskJsonOf = (fields: readonly (keyof TaskView)[]) => sql.raw(`json_build_object(${fields.map((field) => `'${field}', ${TASK_FIELD_SQL[field]}`).join(', ')})`);

/**
 * The seed's status body — execution, health, tasks, metrics — and the id of the newest event,
 * from one statement (one snapshot, so the body is the state at exactly that event). The tasks
 * come back as JSON text built by PostgreSQL, with the seed's fields and the parts `include`
 * names: a caller that only re-serialises them (REST, the stream) passes the text through.
 */
export async function getExecutionStatusParts(db: Db, executionId: string, include: readonly TaskInclude[] = ALL_TASK_INCLUDES): Promise<ExecutionStatusParts> {
  const fields = taskFields(include);
  const taskJson = taskJsonOf(fields);
  // The reason a task was skipped lives in its skip event (the log is the record of why).
  const skips = fields.includes('skip_reason')
    ? sql`left join (select distinct on (v.data->>'taskId') v.data->>'taskId' as task_id, v.data->>'reason' as reason
            from execution_events v
            where v.execution_id = ${executionId} and v.type = 'task-failed' and v.data->>'status' = 'skipped'
            order by v.data->>'taskId', v.id desc) skips on skips.task_id = t.id and t.status = 'skipped'`
    : sql``;
  const [row] = await db.execute<{ execution: ExecutionStatusBody['execution'] | null; tasks: string; stats: StatsRow[] | null; version: number | null; lastEventId: number }>(sql`
    select
      (select version from executions where id = ${executionId}) as version,
      coalesce((select max(id) from execution_events where execution_id = ${executionId}), 0)::int8::float8 as "lastEventId",
      (select json_build_object('id', e.id, 'status', e.status, 'strategyId', e.strategy_id, 'strategyVersion', e.strategy_version, 'workspaceId', e.workspace_id,
          'startedAt', ${iso('e.started_at')}, 'completedAt', ${iso('e.completed_at')}, 'totalTasks', e.total_tasks,
          'completedTasks', e.completed_tasks, 'failedTasks', e.failed_tasks, 'error', e.error,
          'input', e.input, 'trigger', e.trigger, 'scheduleId', e.schedule_id, 'retryOf', e.retry_of,
          'parentExecutionId', e.parent_execution_id, 'parentTaskId', e.parent_task_id)
        from executions e where e.id = ${executionId}) as execution,
      (select coalesce(json_agg(${taskJson} order by t.id), '[]')::text
        from tasks t ${skips}
        where t.execution_id = ${executionId}) as tasks,
      (select json_agg(s) from (${statsQuery(executionId)}) s) as stats`);
  if (!row?.execution) throw notFound('Execution not found');
  return { version: row.version ?? 0, lastEventId: Number(row.lastEventId), execution: row.execution, tasks: row.tasks, stats: foldStats(row.stats ?? []) };
}

/** One task with every field (its result too), or null when the execution has no such task. */
export async function getTaskView(db: Db, executionId: string, taskId: string): Promise<TaskView | null> {
  const [row] = await db.execute<{ task: TaskView }>(sql`
    select ${taskJsonOf(taskFields(ALL_TASK_INCLUDES))} as task
    from tasks t
    left join (select v.data->>'reason' as reason from execution_events v
        where v.execution_id = ${executionId} and v.type = 'task-failed' and v.data->>'status' = 'skipped' and v.data->>'taskId' = ${taskId}
        order by v.id desc limit 1) skips on t.status = 'skipped'
    where t.execution_id = ${executionId} and t.id = ${taskId}`);
  return row?.task ?? null;
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

/** The status body with the tasks parsed, every field of every task. */
export async function getExecutionStatus(db: Db, executionId: string): Promise<ExecutionStatusBody<TaskView[]>> {
  const parts = await getExecutionStatusParts(db, executionId);
  return statusBody(parts, JSON.parse(parts.tasks) as TaskView[]);
}
