import { sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import { hookPoint } from './hooks.ts';

/**
 * Executions' inputs as agents see them (`context.execution.input`). An input never changes
 * once its execution is written, so a worker reads each execution's once and keeps the most
 * recent ones: the hot path pays one query per execution, not per task.
 */
const CACHED_MAX = 2000;
const cache = new Map<string, Promise<Record<string, unknown>>>();

export function executionInput(ctx: EngineContext, executionId: string): Promise<Record<string, unknown>> {
  const hit = cache.get(executionId);
  if (hit) {
    // Most recently used last: the oldest is evicted first.
    cache.delete(executionId);
    cache.set(executionId, hit);
    return hit;
  }
  const loading = hookPoint('executor:load-input', { executionId })
    .then(() => ctx.db.execute<{ input: Record<string, unknown> | null }>(sql`select input from executions where id = ${executionId}`))
    .then(([row]) => row?.input ?? {});
  cache.set(executionId, loading);
  // A failed read is not kept: the next attempt reads again.
  loading.catch(() => cache.delete(executionId));
  if (cache.size > CACHED_MAX) cache.delete(cache.keys().next().value!);
  return loading;
}
