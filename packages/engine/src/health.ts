import { sql } from 'drizzle-orm';
import type { Health, Metrics } from './contract.ts';
import type { Executor } from './tx.ts';

export type { Health, Metrics } from './contract.ts';

/** Task counts of one execution, by status and agent type, as the health score needs them. */
export interface ExecutionStats {
  total: number;
  byStatus: Record<string, number>;
  retriedTasks: number;
  retryAttempts: number;
  stalledTasks: number;
  averageTaskDuration: number;
  agents: Record<string, { tasksCompleted: number; tasksFailed: number; avgDuration: number }>;
}

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * The health score, 0–100. A fresh or clean run scores 100; each kind of trouble takes off
 * points and is named in `issues`:
 * - failed tasks: 10 + 50 × (failed / total)
 * - retried tasks: min(20, 5 + 15 × (retried / total))
 * - stalled tasks (in progress past their timeout): min(30, 10 × stalled)
 */
export function computeHealth(stats: ExecutionStats, now: Date = new Date()): Health {
  const completed = stats.byStatus.completed ?? 0;
  const failed = stats.byStatus.failed ?? 0;
  const total = stats.total;
  const issues: string[] = [];
  let score = 100;
  if (failed > 0) {
    score -= 10 + 50 * (failed / Math.max(total, 1));
    issues.push(`${failed} task${failed === 1 ? '' : 's'} failed`);
  }
  if (stats.retriedTasks > 0) {
    score -= Math.min(20, 5 + 15 * (stats.retriedTasks / Math.max(total, 1)));
    issues.push(`${stats.retriedTasks} task${stats.retriedTasks === 1 ? '' : 's'} needed retries (${stats.retryAttempts} retry attempt${stats.retryAttempts === 1 ? '' : 's'})`);
  }
  if (stats.stalledTasks > 0) {
    score -= Math.min(30, 10 * stats.stalledTasks);
    issues.push(`${stats.stalledTasks} task${stats.stalledTasks === 1 ? '' : 's'} in progress past their timeout`);
  }
  const completionRate = total === 0 ? 1 : round(completed / total);
  return {
    score: Math.max(0, Math.min(100, Math.round(score))),
    completionRate,
    taskCompletionRate: completionRate,
    errorRate: total === 0 ? 0 : round(failed / total),
    lastChecked: now.toISOString(),
    issues,
    averageTaskDuration: Math.round(stats.averageTaskDuration),
    agentStatus: stats.agents,
  };
}

export function computeMetrics(stats: ExecutionStats, startedAt: Date | null, completedAt: Date | null, now: Date = new Date()): Metrics {
  return {
    totalDuration: startedAt ? Math.max(0, (completedAt ?? now).getTime() - startedAt.getTime()) : 0,
    averageTaskDuration: Math.round(stats.averageTaskDuration),
    totalTasks: stats.total,
    completedTasks: stats.byStatus.completed ?? 0,
    failedTasks: stats.byStatus.failed ?? 0,
    skippedTasks: stats.byStatus.skipped ?? 0,
    inProgressTasks: stats.byStatus.in_progress ?? 0,
    pendingTasks: (stats.byStatus.pending ?? 0) + (stats.byStatus.assigned ?? 0),
    retryAttempts: stats.retryAttempts,
  };
}

export type StatsRow = {
  status: string;
  agentType: string;
  n: number;
  retried: number;
  retries: number;
  stalled: number;
  durationSum: number;
  durationCount: number;
};

/** The aggregate behind the health score, as SQL to embed (grouped by status and agent type). */
export function statsQuery(executionId: string) {
  return sql`
    select status, agent_type as "agentType", count(*)::int as n,
      count(*) filter (where retry_count > 0)::int as retried,
      coalesce(sum(retry_count), 0)::int as retries,
      count(*) filter (where status = 'in_progress' and wake_at is null and started_at + timeout_seconds * interval '1 second' < now())::int as stalled,
      coalesce(sum(extract(epoch from completed_at - started_at) * 1000) filter (where status = 'completed' and started_at is not null), 0)::float8 as "durationSum",
      count(*) filter (where status = 'completed' and started_at is not null)::int as "durationCount"
    from tasks where execution_id = ${executionId}
    group by status, agent_type`;
}

/** One aggregate over the execution's tasks (index: tasks by execution and status). */
export async function loadStats(db: Executor, executionId: string): Promise<ExecutionStats> {
  return foldStats(await db.execute<StatsRow>(statsQuery(executionId)));
}

export function foldStats(rows: readonly StatsRow[]): ExecutionStats {
  const stats: ExecutionStats = { total: 0, byStatus: {}, retriedTasks: 0, retryAttempts: 0, stalledTasks: 0, averageTaskDuration: 0, agents: {} };
  let durationSum = 0;
  let durationCount = 0;
  const agentDurations = new Map<string, { sum: number; count: number }>();
  for (const row of rows) {
    stats.total += row.n;
    stats.byStatus[row.status] = (stats.byStatus[row.status] ?? 0) + row.n;
    stats.retriedTasks += row.retried;
    stats.retryAttempts += row.retries;
    stats.stalledTasks += row.stalled;
    durationSum += row.durationSum;
    durationCount += row.durationCount;
    const agent = stats.agents[row.agentType] ?? { tasksCompleted: 0, tasksFailed: 0, avgDuration: 0 };
    stats.agents[row.agentType] = agent;
    if (row.status === 'completed') agent.tasksCompleted += row.n;
    if (row.status === 'failed') agent.tasksFailed += row.n;
    const d = agentDurations.get(row.agentType) ?? { sum: 0, count: 0 };
    d.sum += row.durationSum;
    d.count += row.durationCount;
    agentDurations.set(row.agentType, d);
  }
  for (const [agentType, d] of agentDurations) {
    const agent = stats.agents[agentType];
    if (agent) agent.avgDuration = d.count === 0 ? 0 : Math.round(d.sum / d.count);
  }
  stats.averageTaskDuration = durationCount === 0 ? 0 : durationSum / durationCount;
  return stats;
}
