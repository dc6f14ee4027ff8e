import type { Executor } from '../tx.ts';
import { type ErrorAnalytics, errorAnalytics } from './errors.ts';
import { type ExecutionAnalytics, executionAnalytics } from './executions.ts';
import { type QueueAnalytics, queueAnalytics } from './queues.ts';
import type { AnalyticsRange } from './range.ts';
import { type TaskAnalytics, taskAnalytics } from './tasks.ts';

export { ERROR_PATTERN_LIMITS, errorAnalytics, errorPatternSql, type ErrorAnalytics, type ErrorPattern } from './errors.ts';
export { executionAnalytics, type ExecutionAnalytics, type ExecutionCounts } from './executions.ts';
export { queueAnalytics, type AgentQueue, type QueueAnalytics } from './queues.ts';
export { ANALYTICS_LIMITS, analyticsRangeFields, analyticsRangeSchema, lastDays, rangeBounds, toAnalyticsRange, type AnalyticsRange } from './range.ts';
export { taskAnalytics, type AgentDurations, type TaskAnalytics } from './tasks.ts';

export interface AnalyticsSummary {
  workspaceId: string;
  range: AnalyticsRange;
  executions: Omit<ExecutionAnalytics, 'workspaceId' | 'range'>;
  tasks: Omit<TaskAnalytics, 'workspaceId' | 'range'>;
  errors: Omit<ErrorAnalytics, 'workspaceId' | 'range'>;
  queues: Omit<QueueAnalytics, 'workspaceId'>;
}

/** Every part of the analytics page in one answer, each part one aggregate statement. */
export async function analyticsSummary(db: Executor, workspaceId: string, range: AnalyticsRange, options: { errorLimit?: number } = {}): Promise<AnalyticsSummary> {
  const [executions, tasks, errors, queues] = await Promise.all([
    executionAnalytics(db, workspaceId, range),
    taskAnalytics(db, workspaceId, range),
    errorAnalytics(db, workspaceId, range, options.errorLimit),
    queueAnalytics(db, workspaceId),
  ]);
  const part = <T extends { workspaceId: string; range?: AnalyticsRange }>({ workspaceId: _w, range: _r, ...rest }: T) => rest;
  return { workspaceId, range, executions: part(executions), tasks: part(tasks), errors: part(errors), queues: part(queues) };
}
