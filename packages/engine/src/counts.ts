import { sql } from 'drizzle-orm';
import { jsonRows, type Tx } from './tx.ts';

export type CountColumn = 'completed_tasks' | 'failed_tasks' | 'skipped_tasks';

/** Adds to an execution's task counts, one row per task that reached the state. */
export async function bumpCounts(tx: Tx, column: CountColumn, rows: readonly { executionId: string }[]): Promise<void> {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.executionId, (counts.get(row.executionId) ?? 0) + 1);
  if (counts.size === 0) return;
  await tx.execute(sql`
    update executions e set ${sql.raw(column)} = e.${sql.raw(column)} + c.n, updated_at = now()
    from jsonb_to_recordset(${jsonRows([...counts].map(([id, n]) => ({ id, n })))}) as c(id text, n int)
    where e.id = c.id`);
}
