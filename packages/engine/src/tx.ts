import type { Db, ExecutionStatus } from '@strata/db';
import { type SQL, sql } from 'drizzle-orm';

/** A drizzle transaction. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything that runs queries: the pool or a transaction. */
export type Executor = Db | Tx;

const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A transaction retried on deadlock or serialization failure, which are safe to repeat. Always
 * READ COMMITTED, whatever the server's default: the engine's conditional updates rely on a row
 * locked with FOR UPDATE being re-checked as it is after the lock (under REPEATABLE READ or
 * SERIALIZABLE they would fail with serialization errors instead).
 */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn, { isolationLevel: 'read committed' });
    } catch (error) {
      if (attempt >= 5 || !RETRYABLE.has(sqlState(error) ?? '')) throw error;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

/** A JS array as one text[] parameter (drizzle would otherwise expand it into a list). */
export function textArray(values: readonly string[]): SQL {
  return sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

/** Rows as one jsonb parameter, to be read with jsonb_to_recordset. */
export function jsonRows(rows: readonly object[]): SQL {
  return sql`${JSON.stringify(rows)}::jsonb`;
}

/**
 * Locks the executions' rows in id order and bumps their version. Every transaction that
 * changes an execution or its tasks, or appends its events, takes this lock first: event ids
 * then commit in order per execution, and `version` tells readers whether anything changed.
 */
export async function lockExecutions(tx: Tx, ids: readonly string[]): Promise<Map<string, ExecutionLockRow>> {
  const unique = [...new Set(ids)].sort();
  if (unique.length === 0) return new Map();
  const rows = await tx.execute<ExecutionLockRow>(sql`
    update executions e set version = e.version + 1
    from (select id from executions where id = any(${textArray(unique)}) order by id for update) locked
    where e.id = locked.id
    returning e.id, e.workspace_id as "workspaceId", e.status, e.on_task_failure as "onTaskFailure", e.completed_at is not null as settled,
      e.stats_emitted_at < now() - interval '1 second' or e.stats_emitted_at is null as "statsDue"`);
  return new Map(rows.map((row) => [row.id, row]));
}

export type ExecutionLockRow = {
  id: string;
  workspaceId: string;
  status: ExecutionStatus;
  onTaskFailure: 'fail' | 'continue';
  settled: boolean;
  statsDue: boolean;
};
