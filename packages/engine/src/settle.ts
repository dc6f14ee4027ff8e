import { sql } from 'drizzle-orm';
import type { NewEvent } from './events.ts';
import { computeHealth, computeMetrics, type Health, loadStats } from './health.ts';
import { wakeParentTask } from './children/hold.ts';
import type { TaskQueue } from './queue.ts';
import { afterCommit, type ExecutionLockRow, type Tx } from './tx.ts';
import { queueExecutionEnded, queueHealthBelow } from './webhooks/trigger.ts';
import { type ExecutionTrace, recordExecutionSpan } from '@strata/telemetry';

type Progress = {
  unsettled: number;
  inProgress: number;
  completedTasks: number;
  failedTasks: number;
  skippedTasks: number;
  totalTasks: number;
  error: string | null;
  startedAt: string | null;
};

/**
 * After tasks changed: finish the execution when nothing is left to run, and emit
 * health-update / metrics-update, coalesced to at most one pair a second per execution
 * (always at the end). The caller holds the execution's row lock. A child execution that ends
 * wakes the parent task waiting for it, in the same transaction (children/hold.ts).
 */
export async function settleExecution(
  tx: Tx,
  queue: TaskQueue,
  execution: ExecutionLockRow,
  events: NewEvent[],
  options: { forceStats?: boolean; unsettled?: number | undefined } = {},
): Promise<void> {
  if (execution.settled) return;
  // The caller read the counters back after its last change to them (`unsettled`): a running
  // execution with tasks left and no stats due has nothing to settle, without a read.
  if (options.unsettled !== undefined && options.unsettled > 0 && execution.status === 'running' && !execution.statsDue && !options.forceStats) return;
  const [progress] = await tx.execute<Progress>(sql`
    select e.total_tasks - e.completed_tasks - e.failed_tasks - e.skipped_tasks as unsettled,
           case when e.status in ('failed', 'cancelled')
             then (select count(*)::int from tasks t where t.execution_id = e.id and t.status = 'in_progress') else 0 end as "inProgress",
           e.completed_tasks as "completedTasks", e.failed_tasks as "failedTasks", e.skipped_tasks as "skippedTasks",
           e.total_tasks as "totalTasks", e.error, e.started_at::text as "startedAt"
    from executions e where e.id = ${execution.id}`);
  if (!progress) return;

  let finalEvent: NewEvent | undefined;
  let finalStatus: string | undefined;
  const summary = {
    totalTasks: progress.totalTasks,
    completedTasks: progress.completedTasks,
    failedTasks: progress.failedTasks,
    skippedTasks: progress.skippedTasks,
  };
  if ((execution.status === 'running' || execution.status === 'paused') && progress.unsettled === 0) {
    finalStatus = 'completed';
    finalEvent = { executionId: execution.id, type: 'execution-completed', data: { status: 'completed', ...summary } };
  } else if (execution.status === 'failed' && progress.inProgress === 0) {
    finalEvent = { executionId: execution.id, type: 'error', data: { status: 'failed', error: progress.error ?? 'Execution failed', ...summary } };
  } else if (execution.status === 'cancelled' && progress.inProgress === 0) {
    finalEvent = { executionId: execution.id, type: 'execution-cancelled', data: { status: 'cancelled', ...summary } };
  }

  let health: Health | undefined;
  if (finalEvent || options.forceStats || execution.statsDue) {
    const stats = await loadStats(tx, execution.id);
    const now = new Date();
    const startedAt = progress.startedAt ? new Date(progress.startedAt) : null;
    health = computeHealth(stats, now);
    await queueHealthBelow(tx, queue, execution.id, execution.workspaceId, health);
    const metrics = computeMetrics(stats, startedAt, finalEvent ? now : null, now);
    events.push({ executionId: execution.id, type: 'health-update', data: { ...health } });
    events.push({ executionId: execution.id, type: 'metrics-update', data: { ...metrics } });
    await tx.execute(sql`update executions set stats_emitted_at = now() where id = ${execution.id}`);
    execution.statsDue = false;
  }

  if (finalEvent) {
    const [ended] = await tx.execute<EndedRow>(sql`
      update executions set status = ${finalStatus ?? execution.status}, completed_at = now(), updated_at = now(), health_score = ${health?.score ?? null}
      where id = ${execution.id}
      returning status, trace_context as "traceContext", extract(epoch from coalesce(started_at, created_at)) * 1000 as "startedMs",
        strategy_id as "strategyId", workspace_id as "workspaceId", error`);
    if (ended?.traceContext) afterCommit(tx, () => recordEndedExecution(execution.id, ended, summary));
    if (finalStatus) execution.status = 'completed';
    execution.settled = true;
    if (health && (execution.status === 'completed' || execution.status === 'failed' || execution.status === 'cancelled')) {
      await queueExecutionEnded(tx, queue, execution.id, execution.status, health);
    }
    events.push(finalEvent);
    if (execution.parentTaskId !== null && execution.parentAttempt !== null) {
      await wakeParentTask(tx, queue, { taskId: execution.parentTaskId, attempt: execution.parentAttempt });
    }
  }
}

type EndedRow = {
  status: 'completed' | 'failed' | 'cancelled';
  traceContext: ExecutionTrace | null;
  startedMs: number;
  strategyId: string;
  workspaceId: string;
  error: string | null;
};

/** The execution's span, recorded once its end has committed (see @strata/telemetry's execution.ts). */
function recordEndedExecution(executionId: string, ended: EndedRow, summary: Record<string, number>) {
  if (!ended.traceContext) return;
  recordExecutionSpan(ended.traceContext, {
    executionId,
    status: ended.status,
    startTime: new Date(Number(ended.startedMs)),
    // Now, as the end commits here: after every attempt that ended before it (the row's
    // completed_at is the transaction's start, and PostgreSQL's clock need not be this one).
    endTime: new Date(),
    error: ended.error,
    attributes: {
      'strata.strategy.id': ended.strategyId,
      'strata.workspace.id': ended.workspaceId,
      'strata.execution.total_tasks': summary.totalTasks ?? 0,
      'strata.execution.completed_tasks': summary.completedTasks ?? 0,
      'strata.execution.failed_tasks': summary.failedTasks ?? 0,
      'strata.execution.skipped_tasks': summary.skippedTasks ?? 0,
    },
  });
}
