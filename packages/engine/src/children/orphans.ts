import { sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import { EngineError } from '../errors.ts';
import { hookPoint } from '../hooks.ts';
import { controlExecution } from '../lifecycle.ts';

const SWEEP_LIMIT = 100;

/**
 * Children nobody waits for any more: their parent task left the attempt that started them while
 * they still ran (its worker stopped, or its lease lapsed, while the resumed agent looked at a child
 * still running; a custom agent that finished without waiting for its child). Each is cancelled,
 * with its own children. A task never returns to an attempt it left (every new run is a new
 * attempt), so what this unlocked read finds stays orphaned; a child that ended meanwhile is left
 * as it is. The worker's sweep runs it.
 */
export async function cancelOrphanedChildren(ctx: EngineContext): Promise<number> {
  const orphans = await ctx.db.execute<{ id: string }>(sql`
    select c.id from executions c left join tasks t on t.id = c.parent_task_id
    where c.status in ('pending', 'running', 'paused') and c.parent_execution_id is not null
      and (t.id is null or not (t.status = 'in_progress' and t.attempt = c.parent_attempt))
    order by c.id limit ${SWEEP_LIMIT}`);
  if (orphans.length === 0) return 0;
  await hookPoint('children:before-orphan-cancel', { executionIds: orphans.map((o) => o.id) });
  let cancelled = 0;
  for (const { id } of orphans) {
    try {
      await controlExecution(ctx, id, 'cancel');
      cancelled++;
    } catch (error) {
      // It ended on its own meanwhile.
      if (!(error instanceof EngineError && error.code === 'CONFLICT')) throw error;
    }
  }
  return cancelled;
}
