import { type AgentType, type Db, type ExecutionStatus, executions, newExecutionId, newId, strategyItems, type TaskStatus, tasks } from '@strata/db';
import { and, eq } from 'drizzle-orm';
import { createStrategy } from '../strategy/store.ts';

/** One task of a seeded history, with the timestamps and outcome the test chooses. */
export interface HistoryTask {
  agentType: AgentType;
  status: TaskStatus;
  startedAt?: string | null;
  completedAt?: string | null;
  error?: string | null;
  reused?: boolean;
  retryCount?: number;
  throttleScope?: string | null;
  wakeAt?: string | null;
}

/** A task of the history that ran for `ms` and finished (completed or failed) at `completedAt`. */
export function finishedTask(agentType: AgentType, status: 'completed' | 'failed', completedAt: string, ms: number, error?: string): HistoryTask {
  return { agentType, status, startedAt: new Date(Date.parse(completedAt) - ms).toISOString(), completedAt, ...(error ? { error } : {}) };
}

/** One execution of a seeded history. */
export interface HistoryExecution {
  status: ExecutionStatus;
  completedAt?: string | null;
  healthScore?: number | null;
  tasks?: HistoryTask[];
}

/**
 * Test-only: writes a known history straight into the tables (no engine, no clock), so analytics
 * can be compared with numbers worked out by hand. One strategy with an item per agent type
 * (one item per agent type used) holds the rows' references. Returns the executions' ids in the order given.
 */
export async function insertHistory(db: Db, workspaceId: string, history: HistoryExecution[]): Promise<string[]> {
  const types = [...new Set(history.flatMap((execution) => (execution.tasks ?? []).map((task) => task.agentType)))];
  const strategy = await createStrategy(db, {
    workspaceId,
    name: 'Seeded history',
    items: (types.length > 0 ? types : ['email' as const]).map((agentType) => ({ key: agentType, description: `A ${agentType} task`, agentType })),
  });
  const items = await db.select({ id: strategyItems.id, key: strategyItems.key }).from(strategyItems).where(and(eq(strategyItems.strategyId, strategy.id), eq(strategyItems.level, 4)));
  const itemOf = new Map(items.map((item) => [item.key, item.id]));
  const ids: string[] = [];
  for (const [index, execution] of history.entries()) {
    const id = newExecutionId();
    ids.push(id);
    const list = execution.tasks ?? [];
    const count = (status: TaskStatus) => list.filter((task) => task.status === status).length;
    const at = (value: string | null | undefined) => (value ? new Date(value) : null);
    await db.insert(executions).values({
      id,
      workspaceId,
      strategyId: strategy.id,
      status: execution.status,
      totalTasks: list.length,
      completedTasks: count('completed'),
      failedTasks: count('failed'),
      skippedTasks: count('skipped'),
      startedAt: new Date(Date.parse(execution.completedAt ?? '2026-01-01T00:00:00Z') - 60_000 - index),
      completedAt: at(execution.completedAt),
      healthScore: execution.healthScore ?? null,
    });
    if (list.length === 0) continue;
    await db.insert(tasks).values(
      list.map((task, n) => ({
        id: newId('task'),
        executionId: id,
        workspaceId,
        l4ItemId: itemOf.get(task.agentType)!,
        key: `${task.agentType}-${n}`,
        agentType: task.agentType,
        status: task.status,
        priority: 'medium' as const,
        description: `Seeded ${task.agentType} task`,
        maxRetries: 3,
        timeoutSeconds: 300,
        retryCount: task.retryCount ?? 0,
        startedAt: at(task.startedAt),
        completedAt: at(task.completedAt),
        error: task.error ?? null,
        reused: task.reused ?? false,
        throttleScope: task.throttleScope ?? null,
        wakeAt: at(task.wakeAt),
      })),
    );
  }
  return ids;
}
