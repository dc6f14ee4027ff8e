import { sql } from 'drizzle-orm';
import { hookPoint } from '../hooks.ts';
import { jsonRows, textArray, type Tx } from '../tx.ts';

/**
 * A scope is what one limit counts: a workspace's agent type (its `concurrency` and `perMinute`),
 * a concurrency key within a workspace (`keyConcurrency`, `keyPerMinute`), or one execution (its
 * strategy's `maxConcurrency`). A task may be in all three.
 */
export const typeScope = (workspaceId: string, agentType: string) => `type:${workspaceId}:${agentType}`;
export const keyScope = (workspaceId: string, key: string) => `key:${workspaceId}:${key}`;
export const executionScope = (executionId: string) => `exec:${executionId}`;

/**
 * SET clauses for a task row `t` that stops sleeping (it starts, is skipped, or goes back to
 * ready): its scope is cleared, and so is its "throttled" progress.
 */
export const leavesSleep = sql.raw('progress = case when t.throttle_scope is not null then null else t.progress end, throttle_scope = null');


/** The first key of the advisory locks that serialise starts (and wake-ups) per workspace/type and key scope. */
export const LIMITS_LOCK_CLASS = 0x4c4d;

/**
 * Takes the scopes' advisory locks until the transaction ends, in the order of their lock keys,
 * so two transactions locking overlapping sets never deadlock. Every check-and-start of a
 * limited task holds its scopes' locks, and so does every wake-up after a slot frees: a start
 * sees every start and every end committed before it, and a task throttled just before a slot
 * frees is seen by that slot's wake-up. (An execution's own scope needs none: its row lock,
 * held by every claim and outcome of its tasks, serialises them.)
 */
export async function lockScopes(tx: Tx, scopes: readonly string[], by: 'claim' | 'wake'): Promise<void> {
  const ledger = [...new Set(scopes.filter((s) => !s.startsWith('exec:')))];
  if (ledger.length > 0) {
    await tx.execute(sql`
      select count(pg_advisory_xact_lock(${LIMITS_LOCK_CLASS}, k)) from (select distinct hashtext(s) as k from unnest(${textArray(ledger)}) as s order by k) x`);
  }
  // Held here (by: 'claim' before counting, by: 'wake' before waking), a test forces a start and a freed slot to meet.
  await hookPoint('throttle:locked', { scopes: [...new Set(scopes)], by });
}

/**
 * What to do with a scope's sleepers (its throttled tasks, in queue order): wake `n` of them now,
 * or have the first fire by `at` (a rolling window's next opening).
 */
export type Rouse = { scope: string; n: number; at?: Date };

/**
 * Pulls sleepers' jobs forward: for each scope, the first `n` throttled tasks whose job is not
 * due by then, in queue order, skipping jobs another transaction holds (two slots freed at once
 * wake two sleepers, not the same one twice). As pg-boss's own `update` moves a job's start, the
 * retention moves with it; a job due now wakes the queue's workers through pg-boss's NOTIFY
 * channel (as its insert does), so it starts at once rather than on the next poll. Returns the
 * tasks woken.
 */
export async function rouseSleepers(tx: Tx, requests: readonly Rouse[]): Promise<string[]> {
  const wanted = requests.filter((r) => r.n > 0);
  if (wanted.length === 0) return [];
  const rows = await tx.execute<{ taskId: string }>(sql`
    with req as (select * from jsonb_to_recordset(${jsonRows(wanted.map((r) => ({ scope: r.scope, n: r.n, at: r.at?.toISOString() ?? null })))})
        as r(scope text, n int, at timestamptz)),
      picked as (
        select x.id, x.name, x.task_id, coalesce(r.at, pgboss.job_now()) as at from req r
        cross join lateral (
          select j.id, j.name, t.id as task_id from tasks t join pgboss.job j on j.name = 'agent.' || t.agent_type and j.id = t.job_id::uuid
          where t.throttle_scope = r.scope and j.state = 'created' and j.start_after > coalesce(r.at, pgboss.job_now())
          order by t.queue_tag, t.id limit r.n
          for update of j skip locked) x),
      moved as (
        update pgboss.job j set start_after = p.at, keep_until = p.at + (j.keep_until - j.start_after)
        from picked p where j.name = p.name and j.id = p.id
        returning j.name, j.start_after, p.task_id),
      notified as (
        select pg_notify(('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24)), n.name)
        from (select distinct name from moved where start_after <= pgboss.job_now()) n)
    select task_id as "taskId" from moved where (select count(*) from notified) >= 0`);
  return rows.map((r) => r.taskId);
}
