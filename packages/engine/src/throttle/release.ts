import { type SQL, sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import type { ExecutionLockRow, Tx } from '../tx.ts';
import { limitWindowMs } from './admit.ts';
import { executionScope, keyScope, lockScopes, rouseSleepers, typeScope } from './scopes.ts';

/** A task that stopped running (completed, failed, waiting, handed back), with what says which limited scopes it leaves. */
export type LeftRunning = { executionId: string; workspaceId: string; agentType: string; concurrencyKey: string | null; typeCapped: boolean };

/**
 * The columns an outcome statement returns for each task that stops running, from the row
 * `alias`: whether its agent type is under a concurrency limit is read here, so an engine with
 * no limits pays one probe of an empty table per outcome and no round trip.
 */
export const leftRunningColumns = (alias: string): SQL =>
  sql.raw(
    `${alias}.workspace_id as "workspaceId", ${alias}.concurrency_key as "concurrencyKey", ` +
      `exists (select 1 from workspace_limits wl where wl.workspace_id = ${alias}.workspace_id and wl.agent_type = ${alias}.agent_type and wl.concurrency is not null) as "typeCapped"`,
  );

/** The slots these tasks free, per scope: their execution's (under maxConcurrency), their key's, their agent type's. */
function freedScopes(tasks: readonly LeftRunning[], locked: ReadonlyMap<string, Pick<ExecutionLockRow, 'maxConcurrency'>>): Map<string, number> {
  const freed = new Map<string, number>();
  const add = (scope: string) => freed.set(scope, (freed.get(scope) ?? 0) + 1);
  for (const task of tasks) {
    if (locked.get(task.executionId)?.maxConcurrency) add(executionScope(task.executionId));
    if (task.concurrencyKey !== null) add(keyScope(task.workspaceId, task.concurrencyKey));
    if (task.typeCapped) add(typeScope(task.workspaceId, task.agentType));
  }
  return freed;
}

/**
 * Slots freed by tasks that stopped running wake as many sleepers of each scope, under the
 * scopes' locks (see lockScopes): a claim that throttled a task just before is seen here, and
 * one that counts after sees the slot free. Nothing to do, and no statement, without limits.
 */
export async function wakeFreed(tx: Tx, tasks: readonly LeftRunning[], locked: ReadonlyMap<string, Pick<ExecutionLockRow, 'maxConcurrency'>>): Promise<void> {
  const freed = freedScopes(tasks, locked);
  if (freed.size === 0) return;
  await lockScopes(tx, [...freed.keys()], 'wake');
  await rouseSleepers(
    tx,
    [...freed].map(([scope, n]) => ({ scope, n })),
  );
}

/**
 * Sleepers that left their sleep without starting (skipped, or back to ready while paused): the
 * next sleeper of each scope is woken in their place, so a scope whose first sleeper carried
 * the window's timer does not wait for the safety net.
 */
export async function passOn(tx: Tx, scopes: readonly (string | null)[]): Promise<void> {
  const distinct = [...new Set(scopes.filter((s): s is string => s !== null))];
  if (distinct.length === 0) return;
  await lockScopes(tx, distinct, 'wake');
  await rouseSleepers(
    tx,
    distinct.map((scope) => ({ scope, n: 1 })),
  );
}

const PRUNE_LIMIT = 5000;

/**
 * The sweep's part: ledger rows past the window whose task no longer runs count for nothing.
 * Claims prune their own scopes as they count; this clears scopes nobody claims in any more
 * (a limit lifted, a key not used again). Returns how many rows went.
 */
export async function pruneLimitStarts(ctx: Pick<EngineContext, 'db' | 'limitWindowMs'>): Promise<number> {
  const rows = await ctx.db.execute(sql`
    delete from limit_starts where id in (
      select l.id from limit_starts l
      where l.started_at <= clock_timestamp() - ${limitWindowMs(ctx)} * interval '1 millisecond'
        and not exists (select 1 from tasks t where t.id = l.task_id and t.status = 'in_progress' and t.wake_at is null)
      limit ${PRUNE_LIMIT})
    returning id`);
  return rows.length;
}
