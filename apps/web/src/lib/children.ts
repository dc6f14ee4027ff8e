import type { ExecutionListItem } from './types.ts';

/** A child execution as its parent's page shows it (an item of `GET /api/executions?parentExecutionId=`). */
export type ChildRun = Pick<ExecutionListItem, 'id' | 'status' | 'parentTaskId' | 'strategyName' | 'totalTasks' | 'completedTasks' | 'failedTasks'>;

/** The newest child of each task (a retry of the task starts a new one); `rows` come newest first, as the list gives them. */
export function childrenByTask(rows: readonly ChildRun[]): Map<string, ChildRun> {
  const byTask = new Map<string, ChildRun>();
  for (const row of rows) if (row.parentTaskId && !byTask.has(row.parentTaskId)) byTask.set(row.parentTaskId, row);
  return byTask;
}
