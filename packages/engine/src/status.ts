import { executions, tasks, type Db } from '@strata/db';
import { asc, eq } from 'drizzle-orm';
import { notFound } from './errors.ts';
import { computeHealth, computeMetrics, type Health, type Metrics, loadStats } from './health.ts';

/** A task as the seed's status body shows it: snake_case fields. */
export interface TaskView {
  id: string;
  l4_item_id: string;
  execution_id: string;
  key: string;
  agent_type: string;
  status: string;
  priority: string;
  description: string;
  dependencies: string[];
  assigned_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  result: unknown;
  error: string | null;
  progress: unknown;
  retry_count: number;
  max_retries: number;
}

export interface ExecutionStatusBody {
  execution: {
    id: string;
    status: string;
    strategyId: string;
    workspaceId: string;
    startedAt: string | null;
    completedAt: string | null;
    totalTasks: number;
    completedTasks: number;
    failedTasks: number;
    error: string | null;
  };
  health: Health;
  tasks: TaskView[];
  metrics: Metrics;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The seed's status body: execution, health, tasks and metrics, read in one snapshot. */
export async function getExecutionStatus(db: Db, executionId: string): Promise<ExecutionStatusBody> {
  return db.transaction(
    async (tx) => {
      const [execution] = await tx.select().from(executions).where(eq(executions.id, executionId));
      if (!execution) throw notFound('Execution not found');
      const rows = await tx.select().from(tasks).where(eq(tasks.executionId, executionId)).orderBy(asc(tasks.id));
      const stats = await loadStats(tx, executionId);
      const now = new Date();
      return {
        execution: {
          id: execution.id,
          status: execution.status,
          strategyId: execution.strategyId,
          workspaceId: execution.workspaceId,
          startedAt: iso(execution.startedAt),
          completedAt: iso(execution.completedAt),
          totalTasks: execution.totalTasks,
          completedTasks: execution.completedTasks,
          failedTasks: execution.failedTasks,
          error: execution.error,
        },
        health: computeHealth(stats, now),
        tasks: rows.map((t) => ({
          id: t.id,
          l4_item_id: t.l4ItemId,
          execution_id: t.executionId,
          key: t.key,
          agent_type: t.agentType,
          status: t.status,
          priority: t.priority,
          description: t.description,
          dependencies: t.dependencies,
          assigned_at: iso(t.assignedAt),
          started_at: iso(t.startedAt),
          completed_at: iso(t.completedAt),
          result: t.result ?? null,
          error: t.error,
          progress: t.progress ?? null,
          retry_count: t.retryCount,
          max_retries: t.maxRetries,
        })),
        metrics: computeMetrics(stats, execution.startedAt, execution.completedAt, now),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
