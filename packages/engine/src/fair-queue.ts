import { type SQL, sql } from 'drizzle-orm';
import { hookPoint } from './hooks.ts';
import type { EngineContext } from './context.ts';
import type { TaskJob } from './queue.ts';
import { FAIR_QUEUE_LOCK_CLASS, holdsFairQueueLocks, jsonRows, postgresErrorOf, textArray, transaction, type Tx } from './tx.ts';

/**
 * Fairness between workspaces, as start-time fair queueing over pg-boss's priority order.
 *
 * Each agent queue has a virtual time V: the tag of the job it is serving (the highest tag of
 * its active jobs), else the tag at its head, else where its clocks stopped. A workspace's
 * clock (`queue_clocks.finish`) is where its next job may start. Enqueuing n jobs tags them
 * max(V, clock) … +n−1 and moves the clock past them; a job's pg-boss priority is minus its tag,
 * so a fetch takes jobs in tag order. A workspace with 10,000 jobs waiting holds tags far ahead
 * of V; one that queues three later gets tags at V and runs next, and as a backlog drains its
 * remaining jobs interleave with newcomers one for one. No count of the backlog anywhere: two
 * index lookups and one upsert per queue and workspace.
 *
 * pg-boss priorities are 32-bit: `rebaseQueue` shifts a queue's tags down long before they come
 * near the limit, under an exclusive lock that every enqueue takes in shared mode.
 */

/** A queue whose virtual time passes this is shifted down by it (pg-boss priorities are int4). */
export const REBASE_ABOVE = 2 ** 30;

export type TagRequest = { queue: string; workspaceId: string; count: number };

/** The key of a queue and workspace in `allocateTags`'s answer. */
export const tagKey = (queue: string, workspaceId: string) => `${queue}\u0000${workspaceId}`;

/** A queue's virtual time as SQL, for a `queue` column in scope. */
const virtualTime = (queue: SQL) => sql`coalesce(
  (select max(-j.priority) from pgboss.job j where j.name = ${queue} and j.state = 'active'),
  (select -j.priority from pgboss.job j where j.name = ${queue} and j.state < 'active' and not j.blocked
     and j.start_after <= pgboss.job_now() order by j.priority desc, j.created_on limit 1),
  (select max(c.finish) from queue_clocks c where c.queue = ${queue}),
  0)::bigint`;

/**
 * Reserves `count` consecutive tags per queue and workspace; returns the first of each, keyed by
 * `tagKey(queue, workspaceId)`. Holds each queue's lock in shared mode until the transaction ends.
 */
export async function allocateTags(tx: Tx, requests: readonly TagRequest[]): Promise<Map<string, number>> {
  const wanted = requests.filter((r) => r.count > 0);
  if (wanted.length === 0) return new Map();
  const queues = [...new Set(wanted.map((r) => r.queue))].sort();
  if (!holdsFairQueueLocks(tx)) await tx.execute(sql`select pg_advisory_xact_lock_shared(${FAIR_QUEUE_LOCK_CLASS}, hashtext(q)) from unnest(${textArray(queues)}) as q`);
  await hookPoint('fair-queue:before-allocate', { queues });
  const rows = await tx.execute<{ queue: string; workspaceId: string; finish: number; n: number }>(sql`
    with req as (select * from jsonb_to_recordset(${jsonRows(wanted.map((r) => ({ queue: r.queue, workspace_id: r.workspaceId, n: r.count })))})
        as r(queue text, workspace_id text, n int)),
      vt as (select q.queue, ${virtualTime(sql.raw('q.queue'))} as v from (select distinct queue from req) q)
    insert into queue_clocks as c (queue, workspace_id, finish)
    select r.queue, r.workspace_id, vt.v + r.n from req r join vt using (queue)
    on conflict (queue, workspace_id) do update set finish = (
      select greatest(c.finish, excluded.finish - r.n) + r.n from req r where r.queue = c.queue and r.workspace_id = c.workspace_id)
    returning c.queue, c.workspace_id as "workspaceId", c.finish::float8 as finish,
      (select r.n from req r where r.queue = c.queue and r.workspace_id = c.workspace_id) as n`);
  return new Map(rows.map((row) => [tagKey(row.queue, row.workspaceId), Number(row.finish) - row.n]));
}


/** The pg-boss priority of a tag: higher runs first, so minus the tag. */
export const priorityOfTag = (tag: number): number => -tag;

/**
 * Shifts a queue's tags down by REBASE_ABOVE once its virtual time has passed it: waiting jobs,
 * their tasks and the clocks move together, so the order is unchanged. Waits for enqueues in
 * flight (their tags are in the old range) and holds new ones until it commits; gives up after
 * `lockTimeoutMs` rather than stall enqueues behind a long transaction (the next sweep retries).
 */
export async function rebaseQueue(tx: Tx, queue: string, lockTimeoutMs = 2000): Promise<boolean> {
  const [before] = await tx.execute<{ v: number }>(sql`select ${virtualTime(sql`${queue}`)}::float8 as v`);
  if (!before || Number(before.v) <= REBASE_ABOVE) return false;
  await tx.execute(sql`select set_config('lock_timeout', ${`${Math.max(1, Math.round(lockTimeoutMs))}ms`}, true)`);
  await tx.execute(sql`select pg_advisory_xact_lock(${FAIR_QUEUE_LOCK_CLASS}, hashtext(${queue}))`);
  await hookPoint('fair-queue:rebase-locked', { queue });
  const [now] = await tx.execute<{ v: number }>(sql`select ${virtualTime(sql`${queue}`)}::float8 as v`);
  if (!now || Number(now.v) <= REBASE_ABOVE) return false;
  await tx.execute(sql`update pgboss.job set priority = priority + ${REBASE_ABOVE} where name = ${queue} and state < 'active'`);
  await tx.execute(sql`update queue_clocks set finish = greatest(finish - ${REBASE_ABOVE}, 0) where queue = ${queue}`);
  await tx.execute(sql`update tasks set queue_tag = queue_tag - ${REBASE_ABOVE}
    where status = 'assigned' and 'agent.' || agent_type = ${queue} and queue_tag is not null`);
  return true;
}

/**
 * A waiting job that changed tasks (a promotion): its payload names its new task, so a claim
 * (which goes by the payload's task id and the task's job id) finds it, and it takes that task's
 * timeout. The job's place in its queue (priority) is unchanged.
 */
export async function rehomeJobs(tx: Tx, jobs: readonly { queue: string; jobId: string; job: TaskJob; expireInSeconds: number }[]): Promise<void> {
  if (jobs.length === 0) return;
  await tx.execute(sql`
    update pgboss.job j set data = x.data, expire_seconds = x.expire
    from jsonb_to_recordset(${jsonRows(jobs.map((job) => ({ queue: job.queue, job_id: job.jobId, data: job.job, expire: job.expireInSeconds })))})
      as x(queue text, job_id uuid, data jsonb, expire int)
    where j.name = x.queue and j.id = x.job_id`);
}

/**
 * The sweep's part: rebases every queue whose tags have passed REBASE_ABOVE. A lock timeout
 * (enqueues holding the queue for longer than `lockTimeoutMs`) leaves it to the next sweep.
 */
export async function rebaseQueues(ctx: EngineContext, lockTimeoutMs?: number): Promise<string[]> {
  const due = await ctx.db.execute<{ queue: string }>(sql`
    select queue from queue_clocks group by queue having max(finish) > ${REBASE_ABOVE}`);
  const rebased: string[] = [];
  for (const { queue } of due) {
    try {
      if (await transaction(ctx.db, (tx) => rebaseQueue(tx, queue, lockTimeoutMs))) rebased.push(queue);
    } catch (error) {
      if (postgresErrorOf(error)?.code !== LOCK_NOT_AVAILABLE) throw error;
    }
  }
  return rebased;
}

const LOCK_NOT_AVAILABLE = '55P03';
