import { type SQL, sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import { type AssignedRow, enqueue, PRIORITY_RANK_OF } from '../dispatch.ts';
import type { NewEvent } from '../events.ts';
import { hookPoint } from '../hooks.ts';
import type { ClaimedTask } from '../runner.ts';
import { type ExecutionLockRow, jsonRows, textArray, type Tx } from '../tx.ts';
import { executionScope, keyScope, leavesSleep, lockScopes, type Rouse, rouseSleepers, typeScope } from './scopes.ts';
import type { ThrottleProgress } from '../contract.ts';

/** The rolling window of `perMinute` limits. Tests may shorten it (EngineContext.limitWindowMs). */
const DEFAULT_LIMIT_WINDOW_MS = 60_000;
/**
 * A throttled task sleeps on a job this far ahead: it is woken when a slot of its scope frees,
 * when the window it waits for opens, or when its workspace's limits change. The timer is only
 * the safety net, so thousands of sleepers do not keep re-checking their limits.
 */
const THROTTLE_RECHECK_SECONDS = 300;
/** Sleepers woken at once in one scope, at most; each claim that starts one wakes more while there is room. */
const ROUSE_MAX = 100;

export const limitWindowMs = (ctx: Pick<EngineContext, 'limitWindowMs'>) => ctx.limitWindowMs ?? DEFAULT_LIMIT_WINDOW_MS;


/** The claiming worker, and the columns its claim returns (runner.ts, claimedColumns). */
export type Claim = { workerId: string; leaseSeconds: number; columns: SQL };

/** A limited task of a claim, as queued (its current attempt), with the limits it is under. */
type Candidate = Omit<AssignedRow, 'jobId' | 'notBeforeSeconds'> & {
  queueTag: number | null;
  resumed: boolean;
  concurrencyKey: string | null;
  keyConcurrency: number | null;
  keyPerMinute: number | null;
  typeConcurrency: number | null;
  typePerMinute: number | null;
  progress: unknown;
};

type Check = { scope: string; kind: 'exec' | 'key' | 'type'; ref: string; concurrency: number | null; perMinute: number | null; names: [ThrottleProgress['limit'], ThrottleProgress['limit']]; key?: string };

type ScopeState = { scope: string; running: number; inWindow: number; offset: number; window: number[]; sleepers: boolean; nowMs: number; nowText: string };

/** The limits a task is under, most specific first: a task held by its key or execution is not counted against its agent type's turn. */
function checksOf(task: Candidate, execution: ExecutionLockRow | undefined): Check[] {
  const checks: Check[] = [];
  if (execution?.maxConcurrency) {
    checks.push({ scope: executionScope(task.executionId), kind: 'exec', ref: task.executionId, concurrency: execution.maxConcurrency, perMinute: null, names: ['maxConcurrency', 'maxConcurrency'] });
  }
  if (task.concurrencyKey !== null && (task.keyConcurrency !== null || task.keyPerMinute !== null)) {
    checks.push({
      scope: keyScope(task.workspaceId, task.concurrencyKey),
      kind: 'key',
      ref: task.concurrencyKey,
      concurrency: task.keyConcurrency,
      perMinute: task.keyPerMinute,
      names: ['keyConcurrency', 'keyPerMinute'],
      key: task.concurrencyKey,
    });
  }
  if (task.typeConcurrency !== null || task.typePerMinute !== null) {
    checks.push({ scope: typeScope(task.workspaceId, task.agentType), kind: 'type', ref: task.agentType, concurrency: task.typeConcurrency, perMinute: task.typePerMinute, names: ['concurrency', 'perMinute'] });
  }
  return checks;
}

/** Counts, per scope, under its lock: what runs, the starts in the window (with those that decide when it next opens), and whether anything sleeps there. */
async function loadScopeStates(tx: Tx, windowMs: number, requests: { scope: string; kind: string; ref: string; per_minute: number | null; take: number }[]): Promise<Map<string, ScopeState>> {
  const window = sql`${windowMs} * interval '1 millisecond'`;
  const rows = await tx.execute<ScopeState>(sql`
    with s as (select * from jsonb_to_recordset(${jsonRows(requests)}) as s(scope text, kind text, ref text, per_minute int, take int)),
      clock as materialized (select clock_timestamp() as at),
      pruned as (
        delete from limit_starts l using s, clock
        where l.scope = s.scope and s.kind <> 'exec' and l.started_at <= clock.at - ${window}
          and not exists (select 1 from tasks t where t.id = l.task_id and t.status = 'in_progress' and t.wake_at is null)
        returning l.id)
    select s.scope,
      case when s.kind = 'exec'
        then (select count(*) from tasks t where t.execution_id = s.ref and t.status = 'in_progress' and t.wake_at is null)
        else (select count(distinct l.task_id) from limit_starts l join tasks t on t.id = l.task_id
          where l.scope = s.scope and t.status = 'in_progress' and t.wake_at is null) end::int as running,
      w.n as "inWindow", greatest(0, w.n - coalesce(s.per_minute, w.n))::int as "offset",
      (select coalesce(array_agg((extract(epoch from x.started_at) * 1000)::float8 order by x.started_at), '{}') from (
        select l.started_at from limit_starts l where l.scope = s.scope and l.started_at > clock.at - ${window}
        order by l.started_at offset greatest(0, w.n - coalesce(s.per_minute, w.n)) limit s.take) x) as window,
      exists (select 1 from tasks t where t.throttle_scope = s.scope) as sleepers,
      (extract(epoch from clock.at) * 1000)::float8 as "nowMs", clock.at::text as "nowText"
    from s cross join clock
    cross join lateral (select count(*)::int as n from limit_starts l where s.kind <> 'exec' and l.scope = s.scope and l.started_at > clock.at - ${window}) w
    where (select count(*) from pruned) >= 0`);
  return new Map(rows.map((row) => [row.scope, { ...row, window: row.window.map(Number), nowMs: Number(row.nowMs) }]));
}

/**
 * When a scope's window next has room for one more start, given `started` starts made in this
 * transaction (at its clock): the start that must first leave the window, plus the window. A
 * start outside the rows read (or made now) leaves at the latest now + window, which is then
 * the answer: never early, at worst late by what the claim that wakes it re-checks.
 */
function nextOpening(state: ScopeState, started: number, perMinute: number, windowMs: number): number {
  const leaving = state.inWindow + started - perMinute;
  const at = state.window[leaving - state.offset];
  return (leaving < state.inWindow && at !== undefined ? at : state.nowMs) + windowMs + 1;
}

/**
 * Admits the limited tasks of a claim (their rows are locked by the claim): under their scopes'
 * locks, each starts if every limit it is under has room, in queue order; otherwise it is
 * throttled: it keeps its attempt (and retry count), holds no worker slot, and sleeps on a new
 * job of the same attempt until a slot or the window frees (rouseSleepers). Its progress, and a
 * `task-progress` event when that changes, say which limit holds it. Returns the started tasks,
 * which the claim runs like any other.
 */
export async function admitLimited(ctx: EngineContext, tx: Tx, ids: readonly string[], locked: ReadonlyMap<string, ExecutionLockRow>, claim: Claim, events: NewEvent[]): Promise<ClaimedTask[]> {
  if (ids.length === 0) return [];
  const windowMs = limitWindowMs(ctx);
  const candidates = await tx.execute<Candidate>(sql`
    select t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal,
      t.queue_tag::float8 as "queueTag", t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds",
      t.wake_at is not null as resumed, t.concurrency_key as "concurrencyKey", t.key_concurrency as "keyConcurrency", t.key_per_minute as "keyPerMinute",
      wl.concurrency as "typeConcurrency", wl.per_minute as "typePerMinute", t.progress
    from tasks t left join workspace_limits wl on wl.workspace_id = t.workspace_id and wl.agent_type = t.agent_type
    where t.id = any(${textArray(ids)})
    order by ${PRIORITY_RANK_OF('t')}, t.queue_tag nulls last, t.id`);
  const plans = candidates.map((task) => ({ task, checks: checksOf(task, locked.get(task.executionId)) }));

  // One request per scope: enough window rows to date the next opening for every candidate in it.
  const requests = new Map<string, { scope: string; kind: string; ref: string; per_minute: number | null; take: number }>();
  for (const { checks } of plans) {
    for (const check of checks) {
      const request = requests.get(check.scope) ?? { scope: check.scope, kind: check.kind, ref: check.ref, per_minute: check.perMinute, take: 1 };
      if (check.perMinute !== null) request.per_minute = Math.min(request.per_minute ?? check.perMinute, check.perMinute);
      request.take = Math.min(1000, request.take + 1);
      requests.set(check.scope, request);
    }
  }
  await lockScopes(tx, [...requests.keys()], 'claim');
  const states = await loadScopeStates(tx, windowMs, [...requests.values()]);

  const started = new Map<string, number>();
  const starts: Candidate[] = [];
  const holds: { task: Candidate; check: Check; progress: ThrottleProgress }[] = [];
  for (const { task, checks } of plans) {
    let held: { check: Check; progress: ThrottleProgress } | undefined;
    for (const check of checks) {
      const state = states.get(check.scope)!;
      const used = started.get(check.scope) ?? 0;
      const base = { status: 'throttled' as const, agentType: task.agentType, ...(check.key !== undefined ? { key: check.key } : {}) };
      if (check.concurrency !== null && state.running + used >= check.concurrency) {
        held = { check, progress: { ...base, limit: check.names[0], max: check.concurrency } };
      } else if (check.perMinute !== null && state.inWindow + used >= check.perMinute) {
        const retryAt = new Date(nextOpening(state, used, check.perMinute, windowMs)).toISOString();
        held = { check, progress: { ...base, limit: check.names[1], max: check.perMinute, retryAt } };
      }
      if (held) break;
    }
    if (held) {
      holds.push({ task, ...held });
      continue;
    }
    starts.push(task);
    for (const check of checks) started.set(check.scope, (started.get(check.scope) ?? 0) + 1);
  }

  const claimed = await startAdmitted(tx, starts, plans, states, claim);
  for (const task of claimed) {
    events.push({ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, status: 'in_progress', agentType: task.agentType, attempt: task.attempt, workerId: claim.workerId } });
  }
  await holdThrottled(ctx, tx, holds, events);
  await rouseSleepers(tx, rousing(plans, states, started, holds, windowMs));
  // Before the commit, scopes still locked: a test holds a claim here while a slot frees.
  await hookPoint('throttle:decided', { started: starts.map((t) => t.id), held: holds.map((h) => h.task.id) });
  return claimed;
}

/** The admitted tasks in progress under this worker's lease, and their starts in the ledger (key and type scopes). */
async function startAdmitted(tx: Tx, starts: readonly Candidate[], plans: readonly { task: Candidate; checks: Check[] }[], states: ReadonlyMap<string, ScopeState>, claim: Claim): Promise<ClaimedTask[]> {
  if (starts.length === 0) return [];
  const ids = new Set(starts.map((t) => t.id));
  const ledger = plans
    .filter((p) => ids.has(p.task.id))
    .flatMap((p) => p.checks.filter((c) => c.kind !== 'exec').map((c) => ({ scope: c.scope, task_id: p.task.id, at: states.get(c.scope)!.nowText })));
  const resumed = new Set(starts.filter((t) => t.resumed).map((t) => t.id));
  const rows = await tx.execute<ClaimedTask>(sql`
    with started as (
      update tasks t set status = 'in_progress', started_at = now(), wake_at = null, worker_id = ${claim.workerId},
        lease_expires_at = now() + ${claim.leaseSeconds} * interval '1 second',
        ${leavesSleep}, updated_at = now()
      where t.id = any(${textArray([...ids])})
      returning ${claim.columns}),
    ledger as (insert into limit_starts (scope, task_id, started_at) select l.scope, l.task_id, l.at from jsonb_to_recordset(${jsonRows(ledger)}) as l(scope text, task_id text, at timestamptz))
    select * from started`);
  return rows.map((row) => ({ ...row, resumedFromWait: resumed.has(row.id) }));
}

/**
 * Throttled tasks: a new job for the same attempt (the old one ends with this claim), sleeping
 * THROTTLE_RECHECK_SECONDS; the scope that holds it is recorded so a freed slot finds it.
 */
async function holdThrottled(ctx: EngineContext, tx: Tx, holds: readonly { task: Candidate; check: Check; progress: ThrottleProgress }[], events: NewEvent[]): Promise<void> {
  if (holds.length === 0) return;
  const rows = holds.map(({ task, check, progress }) => ({ task, check, progress, jobId: crypto.randomUUID() }));
  await tx.execute(sql`
    update tasks t set job_id = h.job_id, throttle_scope = h.scope, progress = h.progress, updated_at = now()
    from jsonb_to_recordset(${jsonRows(rows.map((r) => ({ id: r.task.id, job_id: r.jobId, scope: r.check.scope, progress: r.progress })))})
      as h(id text, job_id text, scope text, progress jsonb)
    where t.id = h.id`);
  const queued: (AssignedRow & { queueTag?: number })[] = rows.map(({ task, jobId }) => {
    const { queueTag, resumed: _r, concurrencyKey: _k, keyConcurrency: _kc, keyPerMinute: _km, typeConcurrency: _tc, typePerMinute: _tm, progress: _p, ...row } = task;
    return { ...row, jobId, ...(queueTag === null ? {} : { queueTag: Number(queueTag) }) };
  });
  // The job keeps the task's place in its queue (its tag); it is not a new assignment, so no task-assigned.
  await enqueue(tx, ctx.queue, queued, [], { startAfterSeconds: THROTTLE_RECHECK_SECONDS });
  for (const { task, progress } of rows) {
    if (sameThrottle(task.progress, progress)) continue;
    events.push({ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, agentType: task.agentType, status: task.resumed ? 'in_progress' : 'assigned', progress } });
  }
}

/** Whether a task's stored progress already says this (jsonb does not keep the keys' order). */
function sameThrottle(stored: unknown, progress: ThrottleProgress): boolean {
  const before = (stored ?? {}) as Partial<ThrottleProgress>;
  return before.status === progress.status && before.limit === progress.limit && before.max === progress.max && before.key === progress.key && before.retryAt === progress.retryAt;
}

/**
 * After a claim's decisions, per scope: while it still has room, wake that many sleepers (a
 * window that opened for several at once, a slot the claim did not take); when its window is
 * full, have the first sleeper fire when it next opens. A scope full by concurrency needs
 * nothing: the running task that frees a slot wakes the next sleeper.
 */
function rousing(
  plans: readonly { task: Candidate; checks: Check[] }[],
  states: ReadonlyMap<string, ScopeState>,
  started: ReadonlyMap<string, number>,
  holds: readonly { check: Check }[],
  windowMs: number,
): Rouse[] {
  const heldIn = new Set(holds.map((h) => h.check.scope));
  const limits = new Map<string, { concurrency: number | null; perMinute: number | null }>();
  for (const { checks } of plans) {
    for (const check of checks) {
      const current = limits.get(check.scope) ?? { concurrency: null, perMinute: null };
      const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
      limits.set(check.scope, { concurrency: min(current.concurrency, check.concurrency), perMinute: min(current.perMinute, check.perMinute) });
    }
  }
  const out: Rouse[] = [];
  for (const [scope, limit] of limits) {
    const state = states.get(scope)!;
    if (!state.sleepers && !heldIn.has(scope)) continue;
    const used = started.get(scope) ?? 0;
    const slots = limit.concurrency === null ? Number.POSITIVE_INFINITY : limit.concurrency - state.running - used;
    const window = limit.perMinute === null ? Number.POSITIVE_INFINITY : limit.perMinute - state.inWindow - used;
    const room = Math.min(slots, window);
    if (room > 0) out.push({ scope, n: Math.min(room, ROUSE_MAX) });
    else if (window <= 0 && limit.perMinute !== null) out.push({ scope, n: 1, at: new Date(nextOpening(state, used, limit.perMinute, windowMs)) });
  }
  return out;
}
