import { sql } from 'drizzle-orm';
import { textArray, type Tx } from '../tx.ts';

/** The children of these executions that have not ended, in id order (the order they are locked in). */
export async function activeChildren(tx: Tx, parentIds: readonly string[]): Promise<string[]> {
  if (parentIds.length === 0) return [];
  const rows = await tx.execute<{ id: string }>(sql`
    select id from executions where parent_execution_id = any(${textArray(parentIds)}) and status in ('pending', 'running', 'paused') order by id`);
  return rows.map((row) => row.id);
}

/** The executions above this one, outermost first, ending with it: their strategies, and this one's creator. */
export async function ancestry(tx: Tx, executionId: string): Promise<{ strategies: string[]; createdBy: string | null }> {
  const rows = await tx.execute<{ strategyId: string; createdBy: string | null; depth: number }>(sql`
    with recursive up(id, strategy_id, created_by, parent, depth) as (
      select id, strategy_id, created_by, parent_execution_id, 0 from executions where id = ${executionId}
      union all
      select e.id, e.strategy_id, e.created_by, e.parent_execution_id, up.depth + 1 from executions e join up on e.id = up.parent where up.depth < 1000)
    select strategy_id as "strategyId", created_by as "createdBy", depth from up order by depth desc`);
  return { strategies: rows.map((row) => row.strategyId), createdBy: rows.at(-1)?.createdBy ?? null };
}
