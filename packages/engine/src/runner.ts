import type { AgentType, Priority } from '@strata/db';
import type { SpanContext } from '@strata/telemetry';
import { type SQL, sql } from 'drizzle-orm';
import { backoffMs, type EngineContext } from './context.ts';
import { bumpCounts } from './counts.ts';
import { holdForChildren, prepareChildHolds } from './children/hold.ts';
import type { ChildRequest } from './children/request.ts';
import { type AssignedRow, assignTasks, enqueue, PRIORITY_RANK_OF } from './dispatch.ts';
import { appendEvents, type NewEvent } from './events.ts';
import { skipUnstarted } from './lifecycle.ts';
import { hookPoint } from './hooks.ts';
import { EVENT_RESULT_MAX_BYTES, formatBytes, storableText } from './limits.ts';
import type { TaskJob } from './queue.ts';
import { settleExecution } from './settle.ts';
import { returnToReady, skipTasks } from './skip.ts';
import { admitLimited } from './throttle/admit.ts';
import { leavesSleep } from './throttle/scopes.ts';
import { type LeftRunning, leftRunningColumns, wakeFreed } from './throttle/release.ts';
import { externalWaitReady } from './waits/wake.ts';
import { type ExecutionLockRow, jsonRows, lockExecutions, postgresErrorOf, textArray, transaction, type Tx } from './tx.ts';

/** A task this worker now holds, with what its agent needs. */
export type ClaimedTask = {
  id: string;
  executionId: string;
  workspaceId: string;
  key: string;
  agentType: AgentType;
  description: string;
  input: Record<string, unknown>;
  dependencies: string[];
  attempt: number;
  retryCount: number;
  maxRetries: number;
  timeoutSeconds: number;
  resumedFromWait: boolean;
  /** The pg-boss job this claim came from: every later write for the attempt is fenced by it. */
  jobId: string;
};

/** A job as the worker received it: its payload and pg-boss's id for it. */
export type ClaimJob = TaskJob & { jobId: string };

export type DependencyResult = {
  taskId: string;
  key: string;
  agentType: string;
  result: unknown;
};

/**
 * Claims the tasks of a batch of jobs: each job that is its task's current job (`tasks.job_id`:
 * a stale job of the same attempt, such as a duplicate delivery, claims nothing) and whose
 * execution is running becomes `in_progress` under this worker's lease. A job that fires while
 * its execution is paused puts its task back to ready (resume queues it again).
 *
 * Idempotent for its worker: a claim whose commit acknowledgement was lost can be repeated and
 * returns the same tasks (already in progress under this worker for this job), so a blip is
 * retried as infrastructure instead of leaving the task to lapse and be charged an attempt.
 */
export async function claimTasks(ctx: EngineContext, jobs: readonly ClaimJob[], workerId: string, leaseSeconds: number): Promise<ClaimedTask[]> {
  if (jobs.length === 0) return [];
  // Before anything is read: a test holds claims here to act on tasks that are queued, not yet started.
  await hookPoint('runner:before-claim', { taskIds: jobs.map((j) => j.taskId), workerId });
  const claimed = await transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(
      tx,
      jobs.map((j) => j.executionId),
    );
    const paused = jobs.filter((j) => locked.get(j.executionId)?.status === 'paused');
    if (paused.length > 0) {
      // Back to ready with its event, only if the task still holds this job's attempt and id.
      const returned: NewEvent[] = [];
      await returnToReady(
        tx,
        sql`(t.id, t.job_id) in (select j.id, j.job_id from jsonb_to_recordset(${jsonRows(paused.map((j) => ({ id: j.taskId, job_id: j.jobId })))}) as j(id text, job_id text))`,
        returned,
      );
      await appendEvents(tx, returned);
    }
    // A task whose wait ran out is in-flight work: it resumes while paused too.
    const resumable = jobs.filter((j) => ['running', 'paused'].includes(locked.get(j.executionId)?.status ?? ''));
    if (resumable.length === 0) return [];
    // A task under a limit (its execution's maxConcurrency, its key's, its agent type's in the
    // workspace) is left out of this statement and admitted under its scopes' locks (throttle/);
    // with no limit anywhere, this statement is the whole claim, as before limits existed.
    const rows = await tx.execute<ClaimedTask & { reclaimed: boolean; candidate: string; limited: boolean }>(sql`
      with target as (
        -- Each job finds its task by primary key (see completeTasks: joined on the filters, the
        -- planner scanned every assigned task of the backlog for each batch).
        select f.* from jsonb_to_recordset(${jsonRows(resumable.map((j) => ({ id: j.taskId, job_id: j.jobId, running: locked.get(j.executionId)?.status === 'running', capped: !!locked.get(j.executionId)?.maxConcurrency })))})
          as j(id text, job_id text, running boolean, capped boolean)
        cross join lateral (
          select t.id, t.wake_at is not null as resumed, (t.status = 'in_progress' and t.wake_at is null) as reclaimed,
            not (t.status = 'in_progress' and t.wake_at is null) and (j.capped or t.concurrency_key is not null
              or exists (select 1 from workspace_limits wl where wl.workspace_id = t.workspace_id and wl.agent_type = t.agent_type)) as limited
          from tasks t
          where t.id = j.id and t.job_id = j.job_id
            and ((t.status = 'assigned' and j.running) or (t.status = 'in_progress' and t.wake_at is not null)
              or (t.status = 'in_progress' and t.wake_at is null and t.worker_id = ${workerId}))
          offset 0 for update of t) f
      ),
      claimed as (
        update tasks t set status = 'in_progress', started_at = case when target.reclaimed then t.started_at else now() end,
          wake_at = null, worker_id = ${workerId}, lease_expires_at = now() + ${leaseSeconds} * interval '1 second',
          -- A sleeper whose limit was lifted meanwhile starts here: it sleeps no more.
          ${leavesSleep}, updated_at = now()
        from target where t.id = target.id and not target.limited
        returning ${claimedColumns('t')}, target.resumed as "resumedFromWait", target.reclaimed)
      select target.id as candidate, target.limited, claimed.* from target left join claimed on claimed.id = target.id`);
    const limited = rows.filter((row) => row.limited).map((row) => row.candidate);
    const events: NewEvent[] = rows
      .filter((task) => !task.limited && !task.reclaimed)
      .map((task) => ({
        executionId: task.executionId,
        type: 'task-progress' as const,
        data: { taskId: task.id, status: 'in_progress', agentType: task.agentType, attempt: task.attempt, workerId },
      }));
    const admitted = await admitLimited(ctx, tx, limited, locked, { workerId, leaseSeconds, columns: claimedColumns('t') }, events);
    await appendEvents(tx, events);
    return [...rows.filter((row) => !row.limited).map(({ reclaimed: _, candidate: _c, limited: _l, ...task }) => claimedTask(task)), ...admitted.map(claimedTask)];
  });
  // After the commit: a test can fail here to play a lost commit acknowledgement.
  await hookPoint('runner:after-claim-commit', { taskIds: claimed.map((t) => t.id), workerId });
  return claimed;
}

/**
 * The results of the tasks these tasks depend on, keyed by task id. Each result is capped, but
 * a task may have a thousand dependencies: one statement sums their sizes per claimed task and
 * returns the results only for tasks whose dependencies together stay within
 * `maxBytesPerTask`; a task past it is refused (with the reason) instead of loading them into
 * this process.
 */
export async function loadDependencyResults(
  ctx: EngineContext,
  claimed: readonly ClaimedTask[],
  maxBytesPerTask: number,
): Promise<{ results: Map<string, DependencyResult>; refused: Map<string, string> }> {
  const results = new Map<string, DependencyResult>();
  const refused = new Map<string, string>();
  const withDependencies = claimed.filter((t) => t.dependencies.length > 0);
  if (withDependencies.length === 0) return { results, refused };
  await hookPoint('runner:load-dependencies', { taskIds: claimed.map((t) => t.id) });
  const rows = await ctx.db.execute<{ claimId: string | null; total: number | null; taskId: string | null; key: string | null; agentType: string | null; result: unknown }>(sql`
    with claim as (
      select c.id, d.dep from jsonb_to_recordset(${jsonRows(withDependencies.map((t) => ({ id: t.id, deps: t.dependencies })))}) as c(id text, deps jsonb)
      cross join lateral jsonb_array_elements_text(c.deps) as d(dep)),
    sizes as (select t.id, coalesce(octet_length(t.result::text), 0)::float8 as bytes from tasks t where t.id in (select dep from claim)),
    totals as (select c.id, coalesce(sum(s.bytes), 0)::float8 as total from claim c left join sizes s on s.id = c.dep group by c.id)
    select tt.id as "claimId", tt.total, null::text as "taskId", null::text as key, null::text as "agentType", null::jsonb as result from totals tt
    union all
    select null, null, t.id, t.key, t.agent_type, t.result from tasks t
    where t.id in (select c.dep from claim c join totals tt on tt.id = c.id where tt.total <= ${maxBytesPerTask})`);
  for (const row of rows) {
    if (row.taskId) results.set(row.taskId, { taskId: row.taskId, key: row.key ?? '', agentType: row.agentType ?? '', result: row.result });
  }
  const byId = new Map(withDependencies.map((t) => [t.id, t]));
  for (const row of rows) {
    const task = row.claimId ? byId.get(row.claimId) : undefined;
    if (!task || row.total === null || Number(row.total) <= maxBytesPerTask) continue;
    refused.set(task.id, `Dependency results too large: ${task.dependencies.length} results, ${formatBytes(Number(row.total))} in total (limit ${formatBytes(maxBytesPerTask)})`);
  }
  return { results, refused };
}

/**
 * What became of an attempt. `jobId` (the claim's job) fences the write: an outcome whose job is
 * no longer the task's current one (a replay after a lost commit acknowledgement, a stale job)
 * is discarded. A lease reap (`leaseLapsed`) applies only if the lease is still lapsed under
 * the lock. `release` hands the task back without charging an attempt (worker shutdown, an
 * infrastructure error around the agent).
 */
type OutcomeBase = { taskId: string; executionId: string; attempt: number; jobId?: string };
export type AttemptOutcome =
  | (OutcomeBase & { ok: true; result: unknown })
  | (OutcomeBase & { ok: false; error: string; retryable: boolean; leaseLapsed?: boolean; code?: string })
  | (OutcomeBase & { ok: 'wait'; until: Date; progress?: Record<string, unknown> | undefined; wakeWhenReady?: boolean })
  /** `attemptSpan`: the attempt's span (tracing on), under which the child execution joins the parent's trace. */
  | (OutcomeBase & { ok: 'child'; request: ChildRequest; attemptSpan?: SpanContext })
  | (OutcomeBase & { ok: 'release'; reason: string });

type FailedRow = LeftRunning & {
  id: string;
  executionId: string;
  key: string;
  retryCount: number;
  maxRetries: number;
  agentType: string;
};

/**
 * Records the outcomes of attempts in one transaction: results, counts, dependents that
 * became ready (queued once: the dependent's counter is decremented under its row lock, so
 * exactly one completion sees it reach zero), retries with backoff, failure policy, the end
 * of the execution, and the events. An outcome whose attempt was superseded is discarded.
 */
export async function recordOutcomes(ctx: EngineContext, outcomes: readonly AttemptOutcome[], eager?: EagerDispatch): Promise<RecordResult> {
  if (outcomes.length === 0) return { recorded: 0, claimed: [] };
  const result = await transaction(ctx.db, async (tx): Promise<RecordResult> => {
    const claimed: ClaimedTask[] = [];
    const successes = outcomes.filter((o): o is Extract<AttemptOutcome, { ok: true }> => o.ok === true);
    // Pipelined: the completion is sent right behind the lock, on the same connection, so it runs
    // as soon as the lock is held, without a round trip between them (it needs nothing the lock returns).
    const [locked, completed] = await Promise.all([
      lockExecutions(
        tx,
        outcomes.map((o) => o.executionId),
      ),
      successes.length > 0 ? completeTasks(tx, successes, eager && !eager.repeat ? eager : undefined) : undefined,
    ]);
    const events: NewEvent[] = [];
    let recorded = 0;

    /** Executions whose counters this transaction read back after its last change to them (see settleExecution). */
    let unsettledAfter = new Map<string, number>();
    /** Tasks that stopped running here: the limited slots they free wake sleepers (throttle/). */
    const leftRunning: LeftRunning[] = [];
    if (completed) {
      const { done, released, executions } = completed;
      recorded += done.length;
      leftRunning.push(...done);
      for (const task of done) {
        // The result rides on the event when small, so watchers see it live; a large one is read from the status body.
        const result = task.resultOmitted ? { resultOmitted: true } : { result: task.result ?? null };
        events.push({ executionId: task.executionId, type: 'task-completed', data: { taskId: task.id, agentType: task.agentType, status: 'completed', durationMs: task.durationMs, ...result } });
      }
      // Nothing else in a batch of successes changes the counters again.
      if (successes.length === outcomes.length) unsettledAfter = new Map(executions.map((e) => [e.id, e.unsettled]));
      for (const row of released) if (row.claimed && eager) claimed.push(eagerlyClaimed(row, eager.workerId, events));
      const ready = released.filter((r) => !r.claimed && r.pendingDependencies === 0 && r.status === 'pending' && locked.get(r.executionId)?.status === 'running');
      await assignTasks(
        tx,
        ctx.queue,
        ready.map((r) => r.id),
        events,
      );
    }
    // A repeat after an unknown commit outcome: the first try may have claimed dependents for
    // this worker before its acknowledgement was lost; they are this worker's to run.
    if (eager?.repeat) claimed.push(...(await reclaimEager(tx, outcomes, eager.workerId)));

    // Child requests are checked before the failures (a refused start is one) and held after them (children/hold.ts).
    const childRequests = outcomes.filter((o): o is Extract<AttemptOutcome, { ok: 'child' }> => o.ok === 'child');
    const children = childRequests.length > 0 ? await prepareChildHolds(ctx, tx, childRequests, locked) : undefined;
    const failures = [...outcomes.filter((o): o is Extract<AttemptOutcome, { ok: false }> => o.ok === false), ...(children?.refused ?? [])];
    for (const failure of failures) {
      recorded += await recordFailure(ctx, tx, failure, locked, events, leftRunning);
    }
    const held = children ? await holdForChildren(ctx, tx, children.holds, locked, events) : undefined;
    recorded += held?.recorded ?? 0;

    leftRunning.push(...(held?.left ?? []));

    const waits = [...outcomes.filter((o): o is Extract<AttemptOutcome, { ok: 'wait' }> => o.ok === 'wait'), ...(held?.late ?? [])];
    if (waits.length > 0) recorded += await holdUntil(ctx, tx, waits, locked, events, leftRunning);

    const releases = [...outcomes.filter((o): o is Extract<AttemptOutcome, { ok: 'release' }> => o.ok === 'release'), ...(held?.releases ?? [])];
    if (releases.length > 0) recorded += await handBack(ctx, tx, releases, locked, events, leftRunning);
    await wakeFreed(tx, leftRunning, locked);

    for (const execution of locked.values()) await settleExecution(tx, ctx.queue, execution, events, { unsettled: unsettledAfter.get(execution.id) });
    await appendEvents(tx, events);
    return { recorded, claimed };
  });
  // After the commit: a test can fail here to play a lost commit acknowledgement.
  await hookPoint('runner:after-record-commit', { taskIds: outcomes.map((o) => o.taskId), claimed: result.claimed.map((t) => t.id) });
  return result;
}

export type RecordResult = { recorded: number; claimed: ClaimedTask[] };

/**
 * Eager dispatch: the worker recording outcomes has lanes free for these agent types (the lanes
 * of the attempts that just ended), so a dependent those outcomes release is claimed for it in
 * the same transaction and runs at once, skipping the queue's round trip (enqueue, fetch, claim).
 * Only when nothing else waits in that agent queue: with a backlog, the queue's fair order
 * decides, as for any other task. The claimed task is in progress under this worker's lease
 * with a fresh job id that fences its attempt; should the worker die, the lease lapses and the
 * sweep retries it like any other attempt.
 */
export type EagerDispatch = {
  workerId: string;
  leaseSeconds: number;
  /** Free lanes per agent type. */
  lanes: Partial<Record<AgentType, number>>;
  /** This call repeats one whose commit outcome is unknown (see reclaimEager). */
  repeat?: boolean;
};

type ReleasedRow = { id: string; executionId: string; pendingDependencies: number; status: string; agentType: AgentType; priority: Priority; ordinal: number; claimed: boolean };
type CompletedRow = LeftRunning & { id: string; executionId: string; agentType: string; durationMs: number; result: unknown; resultOmitted: boolean | null };

/**
 * One statement for the successes of a batch: the tasks completed (fenced by attempt and job),
 * their executions' counters bumped (read back as what is left to settle), and their dependents'
 * counters decremented under their row locks, so exactly one completion sees a dependent reach
 * zero; with `eager` (EagerDispatch), the dependents that reach zero are claimed for the free
 * lanes in the same update, highest priority first, while nothing waits in their agent queue
 * (pg-boss's own test for a job it would fetch now). The caller holds the executions' locks, so
 * the dependents' counters read here are the ones the update decrements.
 *
 * Each outcome finds its row by primary key (the lateral lookup; `offset 0` keeps the planner
 * from flattening it into a join): joined on the filters instead, a planner whose statistics
 * predate the execution's start (a 10,000-task start is not analysed yet) estimated one
 * in-progress task and looped over all of them for every outcome, 0.1 s a batch of 500.
 */
async function completeTasks(tx: Tx, successes: readonly Extract<AttemptOutcome, { ok: true }>[], eager: EagerDispatch | undefined) {
  const lanes = Object.entries(eager?.lanes ?? {}).filter(([, n]) => (n ?? 0) > 0);
  const claimable =
    eager && lanes.length > 0
      ? sql`select c.id from (
          select d.id, d.agent_type, row_number() over (partition by d.agent_type order by ${PRIORITY_RANK_OF('d')}, d.ordinal, d.id) as n
          from dec join tasks d on d.id = dec.task_id join executions e on e.id = d.execution_id
          where d.pending_dependencies = dec.n and d.status = 'pending' and d.wake_at is null and e.status = 'running'
            -- A task under a limit goes through the queue, to be admitted under its scopes' locks (throttle/).
            and e.max_concurrency is null and d.concurrency_key is null
            and not exists (select 1 from workspace_limits wl where wl.workspace_id = d.workspace_id and wl.agent_type = d.agent_type)
            and not exists (select 1 from pgboss.job j where j.name = 'agent.' || d.agent_type and j.state < 'active' and not j.blocked and j.start_after <= pgboss.job_now())
        ) c join jsonb_to_recordset(${jsonRows(lanes.map(([agentType, n]) => ({ agent_type: agentType, n })))}) as l(agent_type text, n int)
          on l.agent_type = c.agent_type where c.n <= l.n`
      : sql`select null::text as id where false`;
  const claim = (value: SQL, otherwise: SQL) => sql`case when eager.id is null then ${otherwise} else ${value} end`;
  const rows = await tx.execute<{ kind: 'done' | 'released' | 'execution'; row: CompletedRow & ReleasedRow & ClaimedTask & { unsettled: number } }>(sql`
    with done as (
      update tasks t set status = 'completed', result = x.result, error = null, completed_at = now(),
        lease_expires_at = null, progress = null, updated_at = now()
      from (select f.id, j.result from jsonb_to_recordset(${jsonRows(successes.map((o) => ({ id: o.taskId, attempt: o.attempt, job_id: o.jobId ?? null, result: o.result ?? null })))})
          as j(id text, attempt int, job_id text, result jsonb)
        cross join lateral (select id from tasks where id = j.id and attempt = j.attempt and status = 'in_progress' and wake_at is null
          and (j.job_id is null or job_id = j.job_id) offset 0) f) x
      where t.id = x.id
      returning t.id, t.execution_id as "executionId", t.agent_type as "agentType",
        (extract(epoch from now() - t.started_at) * 1000)::int as "durationMs",
        case when octet_length(t.result::text) <= ${EVENT_RESULT_MAX_BYTES} then t.result end as result,
        octet_length(t.result::text) > ${EVENT_RESULT_MAX_BYTES} as "resultOmitted", ${leftRunningColumns('t')}),
    bumped as (
      update executions e set completed_tasks = e.completed_tasks + c.n, updated_at = now()
      from (select "executionId", count(*)::int as n from done group by "executionId") c
      where e.id = c."executionId"
      returning e.id, e.total_tasks - e.completed_tasks - e.failed_tasks - e.skipped_tasks as unsettled),
    dec as (select td.task_id, count(*)::int as n from task_dependencies td join done on td.depends_on_task_id = done.id group by td.task_id),
    eager as (${claimable}),
    released as (
      update tasks d set pending_dependencies = d.pending_dependencies - dec.n, updated_at = now(),
        status = ${claim(sql`'in_progress'`, sql`d.status`)}, attempt = ${claim(sql`d.attempt + 1`, sql`d.attempt`)},
        assigned_at = ${claim(sql`now()`, sql`d.assigned_at`)}, started_at = ${claim(sql`now()`, sql`d.started_at`)},
        job_id = ${claim(sql`gen_random_uuid()::text`, sql`d.job_id`)}, queue_tag = ${claim(sql`null`, sql`d.queue_tag`)},
        worker_id = ${claim(sql`${eager?.workerId ?? null}::text`, sql`d.worker_id`)},
        lease_expires_at = ${claim(sql`now() + ${eager?.leaseSeconds ?? 0} * interval '1 second'`, sql`d.lease_expires_at`)}
      from dec left join eager on eager.id = dec.task_id
      where d.id = dec.task_id
      returning ${claimedColumns('d')}, false as "resumedFromWait", d.pending_dependencies as "pendingDependencies", d.status,
        d.priority, d.ordinal, eager.id is not null as claimed)
    select 'done' as kind, to_jsonb(done) as row from done
    union all select 'execution', to_jsonb(bumped) from bumped
    union all select 'released', to_jsonb(released) from released`);
  const of = <K extends string>(kind: K) => rows.filter((r) => r.kind === kind).map((r) => r.row);
  return { done: of('done') as CompletedRow[], released: of('released'), executions: of('execution') as { id: string; unsettled: number }[] };
}

/** A task claimed eagerly as the completion statement returns it, with the same two events as a task that went through the queue: assigned, then in progress. */
function eagerlyClaimed(row: ReleasedRow & ClaimedTask, workerId: string, events: NewEvent[]): ClaimedTask {
  events.push({ executionId: row.executionId, type: 'task-assigned', data: { taskId: row.id, agentType: row.agentType, priority: row.priority, attempt: row.attempt, retryCount: row.retryCount } });
  events.push({ executionId: row.executionId, type: 'task-progress', data: { taskId: row.id, status: 'in_progress', agentType: row.agentType, attempt: row.attempt, workerId } });
  const { pendingDependencies: _p, status: _s, priority: _r, ordinal: _o, claimed: _c, ...task } = row;
  return claimedTask(task);
}

/**
 * The dependents of these outcomes' tasks that are in progress under this worker outside a
 * wait: after a lost commit acknowledgement, the first try claimed them eagerly (the worker
 * drops any it already runs).
 */
async function reclaimEager(tx: Tx, outcomes: readonly AttemptOutcome[], workerId: string): Promise<ClaimedTask[]> {
  const rows = await tx.execute<ClaimedTask>(sql`
    select ${claimedColumns('t')}, false as "resumedFromWait" from tasks t
    where t.id in (select task_id from task_dependencies where depends_on_task_id = any(${textArray(outcomes.map((o) => o.taskId))}))
      and t.status = 'in_progress' and t.wake_at is null and t.worker_id = ${workerId} and t.lease_expires_at >= now()`);
  return rows.map(claimedTask);
}

/** What a worker needs of a task it claimed, from the tasks row `alias` (each claiming statement adds `resumedFromWait`). */
const claimedColumns = (alias: string) =>
  sql.raw(
    ['id', 'execution_id as "executionId"', 'workspace_id as "workspaceId"', 'key', 'agent_type as "agentType"', 'description', 'input', 'dependencies', 'attempt', 'retry_count as "retryCount"', 'max_retries as "maxRetries"', 'timeout_seconds as "timeoutSeconds"', 'job_id as "jobId"']
      .map((column) => `${alias}.${column}`)
      .join(', '),
  );

/** A claimed row as the worker takes it: a task without input runs with `{}`. */
const claimedTask = (row: ClaimedTask): ClaimedTask => ({ ...row, input: row.input ?? {} });

async function recordFailure(
  ctx: EngineContext,
  tx: Tx,
  failure: Extract<AttemptOutcome, { ok: false }>,
  locked: Map<string, ExecutionLockRow>,
  events: NewEvent[],
  leftRunning: LeftRunning[],
): Promise<number> {
  const [task] = await tx.execute<FailedRow>(sql`
    select id, execution_id as "executionId", key, retry_count as "retryCount", max_retries as "maxRetries", agent_type as "agentType", ${leftRunningColumns('tasks')}
    from tasks where id = ${failure.taskId} and attempt = ${failure.attempt} and status = 'in_progress' and wake_at is null
      ${failure.jobId ? sql`and job_id = ${failure.jobId}` : sql``}
      ${failure.leaseLapsed ? sql`and lease_expires_at < now()` : sql``}
    for update`);
  // Superseded attempt, or (a reap) a lease renewed since it was seen lapsed: discard. Under
  // READ COMMITTED, FOR UPDATE re-checks these conditions on the row as it is once locked.
  if (!task) return 0;
  leftRunning.push(task);
  const execution = locked.get(task.executionId)!;
  const retriesLeft = failure.retryable && task.retryCount < task.maxRetries;
  const error = storableText(failure.error.slice(0, 4000));
  /** The agent's reason code (e.g. `network_unavailable`), for clients that act on it. */
  const code = failure.code ? { code: failure.code } : {};

  if (retriesLeft && (execution.status === 'running' || execution.status === 'paused')) {
    const retry = task.retryCount + 1;
    const delayMs = backoffMs(ctx.retry, retry);
    events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'pending', error, ...code, retryCount: retry, maxRetries: task.maxRetries, willRetry: true, retryInMs: delayMs } });
    // Paused: stays ready with its backoff's end in wake_at (on a pending task: "not before"),
    // so resume queues it to start then, not at once. Running: queued now to start after the backoff.
    await tx.execute(sql`
      update tasks set status = 'pending', retry_count = ${retry}, error = ${error}, lease_expires_at = null, worker_id = null, progress = null,
        wake_at = ${execution.status === 'paused' ? sql`now() + ${delayMs} * interval '1 millisecond'` : sql`null`}, updated_at = now()
      where id = ${task.id}`);
    if (execution.status === 'running') await assignTasks(tx, ctx.queue, [task.id], events, { startAfterSeconds: delayMs / 1000 });
    return 1;
  }

  if (retriesLeft) {
    // The execution was cancelled or failed while this attempt ran: it will not run again.
    await tx.execute(sql`update tasks set status = 'skipped', error = ${error}, completed_at = now(), lease_expires_at = null, updated_at = now() where id = ${task.id}`);
    await bumpCounts(tx, 'skipped_tasks', [task]);
    events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'skipped', error, ...code, retryCount: task.retryCount, maxRetries: task.maxRetries, willRetry: false, reason: execution.status === 'cancelled' ? 'cancelled' : 'execution-failed' } });
    return 1;
  }

  await tx.execute(sql`
    update tasks set status = 'failed', error = ${error}, completed_at = now(), lease_expires_at = null, updated_at = now()
    where id = ${task.id}`);
  await bumpCounts(tx, 'failed_tasks', [task]);
  events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'failed', error, ...code, retryCount: task.retryCount, maxRetries: task.maxRetries, willRetry: false } });

  if (execution.status === 'running' || execution.status === 'paused') {
    if (execution.onTaskFailure === 'continue') {
      await skipDependents(tx, task.id, events);
    } else {
      const message = `Task "${task.key}" failed: ${error}`;
      await tx.execute(sql`update executions set status = 'failed', error = ${message}, updated_at = now() where id = ${task.executionId}`);
      execution.status = 'failed';
      await skipUnstarted(tx, ctx.queue, [task.executionId], 'execution-failed', events);
    }
  }
  return 1;
}

/**
 * Agents that asked to wait: the task stays in_progress with its wake-up time, holds no lease
 * and no worker slot, and a job for the same attempt is queued to fire at that time. A wait
 * that arrives after its execution was cancelled or failed skips the task instead: nothing
 * would ever wake it, and the execution could not end while it waited. A wait for a person or
 * a signal (`wakeWhenReady`) whose answer came while its agent was deciding to wait wakes now:
 * the answer found the task running, so nothing else would wake it before its deadline.
 */
async function holdUntil(
  ctx: EngineContext,
  tx: Tx,
  waits: Extract<AttemptOutcome, { ok: 'wait' }>[],
  locked: Map<string, ExecutionLockRow>,
  events: NewEvent[],
  leftRunning: LeftRunning[],
): Promise<number> {
  const ended = (executionId: string) => ['cancelled', 'failed'].includes(locked.get(executionId)?.status ?? '');
  const rows = (list: typeof waits) =>
    jsonRows(list.map((w) => ({ id: w.taskId, attempt: w.attempt, job_id: w.jobId ?? null, until: w.until.toISOString(), progress: w.progress ?? null, early: w.wakeWhenReady ?? false })));
  const fence = sql`t.id = j.id and t.attempt = j.attempt and t.status = 'in_progress' and t.wake_at is null and (j.job_id is null or t.job_id = j.job_id)`;
  const late = waits.filter((w) => ended(w.executionId));
  const live = waits.filter((w) => !ended(w.executionId));
  let recorded = 0;
  if (late.length > 0) {
    const skipped = await tx.execute<LeftRunning & { id: string; executionId: string; agentType: string }>(sql`
      update tasks t set status = 'skipped', completed_at = now(), lease_expires_at = null, worker_id = null, job_id = null, progress = null, updated_at = now()
      from jsonb_to_recordset(${rows(late)}) as j(id text, attempt int, job_id text, until timestamptz, progress jsonb, early boolean)
      where ${fence}
      returning t.id, t.execution_id as "executionId", t.agent_type as "agentType", ${leftRunningColumns('t')}`);
    leftRunning.push(...skipped);
    await bumpCounts(tx, 'skipped_tasks', skipped);
    for (const task of skipped) {
      const status = locked.get(task.executionId)?.status;
      // Like every skip (skip.ts): task-failed naming the status the task ends in.
      events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'skipped', willRetry: false, reason: status === 'cancelled' ? 'cancelled' : 'execution-failed' } });
    }
    recorded += skipped.length;
  }
  if (live.length === 0) return recorded;
  const held = await tx.execute<AssignedRow & LeftRunning & { wakeAt: string; shown: Record<string, unknown> | null }>(sql`
    with target as (
      select t.id, case when j.early and ${externalWaitReady()} then now() else j.until end as wake, j.progress
      from jsonb_to_recordset(${rows(live)}) as j(id text, attempt int, job_id text, until timestamptz, progress jsonb, early boolean)
      join tasks t on ${fence}
      for update of t)
    update tasks t set wake_at = target.wake, lease_expires_at = null, worker_id = null, job_id = gen_random_uuid()::text,
      progress = coalesce(target.progress, '{}'::jsonb) || jsonb_build_object('waitingUntil', target.wake), updated_at = now()
    from target where t.id = target.id
    returning t.id, t.execution_id as "executionId", t.workspace_id as "workspaceId", t.agent_type as "agentType", t.priority, t.ordinal,
      t.attempt, t.retry_count as "retryCount", t.timeout_seconds as "timeoutSeconds", t.job_id as "jobId", target.wake::text as "wakeAt", target.progress as shown, ${leftRunningColumns('t')}`);
  leftRunning.push(...held);
  for (const task of held) {
    const { wakeAt, shown, ...row } = task;
    const delaySeconds = Math.max(0, (new Date(wakeAt).getTime() - Date.now()) / 1000);
    await enqueue(tx, ctx.queue, [row], [], { startAfterSeconds: delaySeconds });
    const waitingUntil = new Date(wakeAt).toISOString();
    // A wait with something to show says it (its own `status`, e.g. waiting_for_approval) and carries it as the task's progress.
    const data = shown ? { taskId: task.id, status: 'in_progress', ...shown, waitingUntil, progress: { ...shown, waitingUntil } } : { taskId: task.id, status: 'in_progress', waitingUntil };
    events.push({ executionId: task.executionId, type: 'task-progress', data });
  }
  return recorded + held.length;
}

/**
 * Attempts handed back without being charged (the worker is stopping, or the infrastructure
 * around the agent failed): the task is queued again under a new attempt with its retry count
 * unchanged; paused, it waits for resume; cancelled or failed, it is skipped.
 */
async function handBack(
  ctx: EngineContext,
  tx: Tx,
  releases: Extract<AttemptOutcome, { ok: 'release' }>[],
  locked: Map<string, ExecutionLockRow>,
  events: NewEvent[],
  leftRunning: LeftRunning[],
): Promise<number> {
  const back = await tx.execute<LeftRunning & { id: string; executionId: string; agentType: string }>(sql`
    update tasks t set status = 'pending', lease_expires_at = null, worker_id = null, started_at = null, progress = null, job_id = null, updated_at = now()
    from jsonb_to_recordset(${jsonRows(releases.map((r) => ({ id: r.taskId, attempt: r.attempt, job_id: r.jobId ?? null })))}) as j(id text, attempt int, job_id text)
    where t.id = j.id and t.attempt = j.attempt and t.status = 'in_progress' and t.wake_at is null and (j.job_id is null or t.job_id = j.job_id)
    returning t.id, t.execution_id as "executionId", t.agent_type as "agentType", ${leftRunningColumns('t')}`);
  leftRunning.push(...back);
  // Like every task state change, the hand-back has its event: the attempt ended, uncharged.
  for (const task of back) {
    events.push({ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, agentType: task.agentType, status: 'pending', reason: 'handed-back' } });
  }
  const statusOf = (task: { executionId: string }) => locked.get(task.executionId)?.status;
  await assignTasks(
    tx,
    ctx.queue,
    back.filter((t) => statusOf(t) === 'running').map((t) => t.id),
    events,
  );
  const ended = back.filter((t) => statusOf(t) === 'cancelled' || statusOf(t) === 'failed');
  if (ended.length > 0) {
    await tx.execute(sql`update tasks set status = 'skipped', completed_at = now(), updated_at = now() where id = any(${textArray(ended.map((t) => t.id))})`);
    await bumpCounts(tx, 'skipped_tasks', ended);
    for (const task of ended) {
      const reason = statusOf(task) === 'cancelled' ? 'cancelled' : 'execution-failed';
      events.push({ executionId: task.executionId, type: 'task-failed', data: { taskId: task.id, agentType: task.agentType, status: 'skipped', willRetry: false, reason } });
    }
  }
  return back.length;
}

/** With onTaskFailure "continue": skip everything downstream of the failed task, nothing else. */
async function skipDependents(tx: Tx, taskId: string, events: NewEvent[]): Promise<void> {
  await skipTasks(
    tx,
    sql`t.id in (
      with recursive downstream(id) as (
        select task_id from task_dependencies where depends_on_task_id = ${taskId}
        union
        select td.task_id from task_dependencies td join downstream d on td.depends_on_task_id = d.id
      )
      select id from downstream) and t.status in ('pending', 'assigned')`,
    'dependency-failed',
    events,
  );
}

/** An agent's progress report: stored on the task and appended as `task-progress`. */
export async function reportProgress(ctx: EngineContext, task: { id: string; executionId: string; attempt: number; jobId?: string }, progress: Record<string, unknown>): Promise<boolean> {
  await hookPoint('runner:report-progress', { taskId: task.id, attempt: task.attempt });
  return transaction(ctx.db, async (tx) => {
    await lockExecutions(tx, [task.executionId]);
    const updated = await tx.execute(sql`
      update tasks set progress = ${JSON.stringify(progress)}::jsonb, updated_at = now()
      where id = ${task.id} and attempt = ${task.attempt} and status = 'in_progress' and wake_at is null
        ${task.jobId ? sql`and job_id = ${task.jobId}` : sql``}
      returning id`);
    if (updated.length === 0) return false;
    await appendEvents(tx, [{ executionId: task.executionId, type: 'task-progress', data: { taskId: task.id, status: 'in_progress', progress } }]);
    return true;
  });
}

/** The key of one attempt of one task: what a worker tracks, renews and aborts. */
export const attemptKey = (task: { id: string; attempt: number }) => `${task.id}:${task.attempt}`;

/**
 * Keeps this worker's leases alive; returns the attempts (`attemptKey`) it no longer holds. A
 * lease that has already lapsed is not renewed: the attempt must stop at once, since a sweep
 * may be failing it right now. `allowLapsed` is for the worker that was itself cut off from
 * the database (failed renewals): sweeps give such leases one lease period after a lost
 * database (see the worker), and the reap re-checks the lease under the lock, so renewing a
 * lapsed lease that nobody has reaped yet is safe then.
 */
export async function renewLeases(
  ctx: EngineContext,
  workerId: string,
  held: readonly { id: string; attempt: number }[],
  leaseSeconds: number,
  options: { allowLapsed?: boolean } = {},
): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  await hookPoint('runner:renew-leases', { workerId, taskIds: held.map((h) => h.id) });
  // Each held attempt finds its row by primary key (see completeTasks for why the lateral lookup).
  const renewed = await ctx.db.execute<{ id: string; attempt: number }>(sql`
    update tasks t set lease_expires_at = now() + ${leaseSeconds} * interval '1 second'
    from (select f.id from jsonb_to_recordset(${jsonRows(held)}) as j(id text, attempt int)
      cross join lateral (select id from tasks where id = j.id and attempt = j.attempt and status = 'in_progress' and worker_id = ${workerId}
        and wake_at is null ${options.allowLapsed ? sql`` : sql`and lease_expires_at >= now()`} offset 0) f) x
    where t.id = x.id
    returning t.id, t.attempt`);
  const kept = new Set(renewed.map(attemptKey));
  return new Set(held.map(attemptKey).filter((key) => !kept.has(key)));
}

/** SQLSTATE classes of errors caused by the data itself: repeating the statement cannot help. */
const DATA_ERROR_CLASSES = ['22', '54'];

/**
 * `recordOutcomes`, with one bad outcome harming only its own task: when the batch fails on
 * its data (an invalid value PostgreSQL refuses), each outcome is recorded on its own, and one
 * that still cannot be recorded fails its attempt without retry, saying why. Other errors
 * (connection, timeouts) are thrown for the caller to retry.
 */
export async function recordOutcomesIsolated(ctx: EngineContext, outcomes: readonly AttemptOutcome[], eager?: EagerDispatch): Promise<RecordResult> {
  try {
    return await recordOutcomes(ctx, outcomes, eager);
  } catch (error) {
    const cause = postgresErrorOf(error);
    if (!cause || !DATA_ERROR_CLASSES.includes(cause.code.slice(0, 2))) throw error;
    const [only] = outcomes;
    if (outcomes.length === 1 && only) {
      if (only.ok === false) throw error; // a failure row has no user data left to blame
      const message = storableText(`The outcome could not be stored: ${cause.message}`);
      return recordOutcomes(ctx, [{ taskId: only.taskId, executionId: only.executionId, attempt: only.attempt, jobId: only.jobId, ok: false, error: message, retryable: false }]);
    }
    // One by one, without eager dispatch: their dependents go through the queue.
    let recorded = 0;
    for (const outcome of outcomes) recorded += (await recordOutcomesIsolated(ctx, [outcome])).recorded;
    return { recorded, claimed: [] };
  }
}
