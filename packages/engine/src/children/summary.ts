import { sql } from 'drizzle-orm';
import { computeHealth, loadStats } from '../health.ts';
import { textArray, type Executor } from '../tx.ts';
import type { ChildSummary, OmittedResult } from './request.ts';

/** The results a summary carries together, at most (less when a task's result may be smaller: see the executor). */
export const CHILD_RESULTS_MAX_BYTES = 256 * 1024;
/** Final tasks a summary looks at, in the child strategy's order; any beyond are neither carried nor named. */
const FINAL_TASKS_MAX = 1000;
/** Final tasks whose results did not fit that a summary names. */
const OMITTED_NAMED_MAX = 20;

/**
 * The child execution that one attempt of a task started, as a summary (request.ts), or null when
 * that attempt started none. Bounded: the results of the child's completed final tasks are taken in
 * the strategy's order while they fit in `resultsMaxBytes` together (a result too big to fit is
 * passed over for the smaller ones after it); those left out are named in `omittedResults` (the
 * first 20, with their task ids and sizes), to be read from the child itself. At most the first
 * 1,000 final tasks are considered.
 */
export async function childSummary(db: Executor, parent: { taskId: string; attempt: number }, resultsMaxBytes = CHILD_RESULTS_MAX_BYTES): Promise<ChildSummary | null> {
  const [child] = await db.execute<Omit<ChildSummary, 'health' | 'results' | 'omittedResults'>>(sql`
    select id as "executionId", strategy_id as "strategyId", strategy_version as "strategyVersion", status, error,
      total_tasks as "totalTasks", completed_tasks as "completedTasks", failed_tasks as "failedTasks", skipped_tasks as "skippedTasks"
    from executions where parent_task_id = ${parent.taskId} and parent_attempt = ${parent.attempt}`);
  if (!child) return null;
  const finals = await db.execute<{ id: string; key: string; bytes: number }>(sql`
    select t.id, t.key, coalesce(octet_length(t.result::text), 4)::float8 as bytes from tasks t
    where t.execution_id = ${child.executionId} and t.status = 'completed'
      and not exists (select 1 from task_dependencies d where d.depends_on_task_id = t.id)
    order by t.ordinal, t.id limit ${FINAL_TASKS_MAX}`);
  const carried: string[] = [];
  const omitted: OmittedResult[] = [];
  let used = 0;
  for (const task of finals) {
    const bytes = Number(task.bytes);
    if (used + bytes <= resultsMaxBytes) {
      used += bytes;
      carried.push(task.id);
    } else if (omitted.length < OMITTED_NAMED_MAX) {
      omitted.push({ key: task.key, taskId: task.id, bytes });
    }
  }
  const rows = carried.length
    ? await db.execute<{ key: string; result: unknown }>(sql`select key, result from tasks where id = any(${textArray(carried)}) order by ordinal, id`)
    : [];
  const results: Record<string, unknown> = {};
  for (const row of rows) results[row.key] = row.result;
  return { ...child, health: computeHealth(await loadStats(db, child.executionId)), results, omittedResults: omitted };
}
