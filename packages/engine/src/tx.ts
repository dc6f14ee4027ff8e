import { AGENT_TYPES, type Db, type ExecutionStatus } from '@strata/db';
import { type SQL, sql } from 'drizzle-orm';
import { PostgresJsSession, PostgresJsTransaction } from 'drizzle-orm/postgres-js/session';
import type { Sql } from 'postgres';
import type { NewEvent } from './events.ts';
import { collectAppended, eventsCommitted } from './observer.ts';

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
 * SERIALIZABLE they would fail with serialization errors instead). After COMMIT, the events it
 * appended go to the engine's observers (observer.ts).
 */
export async function transaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const committed: (() => void)[] = [];
    try {
      let appended: NewEvent[] = [];
      const result = await readCommitted(db, (tx) => {
        afterCommitQueues.set(tx, committed);
        appended = collectAppended(tx);
        return fn(tx);
      });
      eventsCommitted(appended);
      for (const action of committed) {
        try {
          action();
        } catch {
          // What follows a commit is best effort (a span): the transaction's work is done.
        }
      }
      return result;
    } catch (error) {
      if (attempt >= 5 || !RETRYABLE.has(sqlState(error) ?? '')) throw error;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

const afterCommitQueues = new WeakMap<Tx, (() => void)[]>();

/**
 * Runs `action` once this transaction has committed (never if it rolls back or is retried):
 * for side effects outside the database, such as recording a span. Best effort: what it throws is dropped.
 */
export function afterCommit(tx: Tx, action: () => void): void {
  afterCommitQueues.get(tx)?.push(action);
}

type SessionParts = { client: Sql; dialect: ConstructorParameters<typeof PostgresJsSession>[1]; schema: ConstructorParameters<typeof PostgresJsSession>[2]; options: ConstructorParameters<typeof PostgresJsSession>[3] };

/**
 * drizzle's `transaction(fn, { isolationLevel })` sends BEGIN and then SET TRANSACTION: two round
 * trips before the first statement, on every engine transaction. This is the same transaction
 * opened as `BEGIN ISOLATION LEVEL READ COMMITTED`, one round trip, built from drizzle's own
 * session classes exactly as its `transaction` builds them (drizzle-orm/postgres-js/session.js).
 */
function readCommitted<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const session = (db as unknown as { session: SessionParts }).session;
  return session.client.begin('isolation level read committed', async (client) => {
    // drizzle's own declarations disagree on the session's client type (Sql vs TransactionSql).
    const txSession = new PostgresJsSession(client as unknown as Sql, session.dialect, session.schema, session.options);
    return fn(new PostgresJsTransaction(session.dialect, txSession as never, session.schema) as unknown as Tx);
  }) as Promise<T>;
}

/**
 * A JS array as one text[] parameter (drizzle would otherwise expand it into a list), sent as an
 * array literal. Statements run unnamed, so PostgreSQL plans them with the parameter's value: it
 * knows the array's length (an index scan by id for a few ids, not a scan of every pending task)
 * and hashes it for `= any(...)`. Built from jsonb, the array was a subquery the planner could not
 * see into: `id = any(...)` became a filter comparing every row with every id, 12 ms for a
 * thousand ids.
 */
export function textArray(values: readonly string[]): SQL {
  return sql`${arrayLiteral(values)}::text[]`;
}

/** PostgreSQL's text form of a text[]: every element quoted, backslashes and quotes escaped. */
function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/** Rows as one jsonb parameter, to be read with jsonb_to_recordset. */
export function jsonRows(rows: readonly object[]): SQL {
  return sql`${JSON.stringify(rows)}::jsonb`;
}

/** The first key of the advisory lock that orders enqueues against a fair-queue rebase (the second is the queue's hash). */
export const FAIR_QUEUE_LOCK_CLASS = 0x5f41;
const fairQueueLocked = new WeakSet<object>();
/** True when this transaction already holds every agent queue's fair-queue lock in shared mode. */
export const holdsFairQueueLocks = (tx: Tx): boolean => fairQueueLocked.has(tx);

/**
 * Locks the executions' rows in id order and bumps their version. Every transaction that
 * changes an execution or its tasks, or appends its events, takes this lock first: event ids
 * then commit in order per execution, and `version` tells readers whether anything changed.
 */
export async function lockExecutions(tx: Tx, ids: readonly string[]): Promise<Map<string, ExecutionLockRow>> {
  const unique = [...new Set(ids)].sort();
  if (unique.length === 0) return new Map();
  // The same statement takes the fair-queue locks in shared mode (see fair-queue.ts), so a
  // transaction that goes on to queue jobs needs no round trip of its own for them.
  const rows = await tx.execute<ExecutionLockRow>(sql`
    with fair as materialized (
      select count(pg_advisory_xact_lock_shared(${FAIR_QUEUE_LOCK_CLASS}, hashtext(q))) as n from unnest(${textArray(AGENT_TYPES.map((t) => `agent.${t}`))}) as q)
    update executions e set version = e.version + 1
    from (select id from executions where id = any(${textArray(unique)}) order by id for update) locked, fair
    where e.id = locked.id
    returning e.id, e.workspace_id as "workspaceId", e.status, e.on_task_failure as "onTaskFailure", e.completed_at is not null as settled, e.max_concurrency as "maxConcurrency",
      e.stats_emitted_at < now() - interval '1 second' or e.stats_emitted_at is null as "statsDue",
      e.parent_task_id as "parentTaskId", e.parent_attempt as "parentAttempt"`);
  fairQueueLocked.add(tx);
  return new Map(rows.map((row) => [row.id, row]));
}

export type ExecutionLockRow = {
  id: string;
  workspaceId: string;
  status: ExecutionStatus;
  onTaskFailure: 'fail' | 'continue';
  settled: boolean;
  statsDue: boolean;
  /** Its strategy version's cap on its tasks in progress at once (throttle/), or null. */
  maxConcurrency: number | null;
  /** A child execution: the parent task (and its attempt) to wake when it ends. */
  parentTaskId: string | null;
  parentAttempt: number | null;
};

/** The PostgreSQL error inside a driver or ORM error (drizzle wraps it as the cause). */
export function postgresErrorOf(error: unknown): { code: string; message: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      const { message, detail } = current as { message?: unknown; detail?: unknown };
      return { code, message: `${String(message)}${typeof detail === 'string' && detail ? ` (${detail})` : ''}` };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
