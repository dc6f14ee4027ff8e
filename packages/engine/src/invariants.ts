/**
 * The engine's guarantees as checks over what it leaves in the database: the execution rows,
 * the tasks, the event log and pg-boss's job table. Tests call `assertExecutionInvariants`
 * after a scenario; the soak calls `checkInvariants` over every execution at the end.
 *
 * Every check reads one REPEATABLE READ snapshot, so a check run while workers are busy sees a
 * consistent state (the engine changes a task, its counts and its events in one transaction).
 * Mid-run, though, a task of a killed worker legitimately shows a lapsed lease (or a lost job)
 * until the next recovery sweep: check once things have settled, as tests and the soak do.
 */
import type { Sql } from '@strata/db';
import { TASK_STATUSES } from '@strata/db/enums';

export type InvariantName =
  /** The execution's counters equal its tasks in those states. */
  | 'counts'
  /** Every task is terminal, or legitimately not yet: nothing is stranded. */
  | 'task-state'
  /** A finished execution has completedAt and exactly one final event, as its last event. */
  | 'final-event'
  /**
   * The log's last event for a terminal task says so (and a task completes once); a task carried
   * over by a re-run (`reused`) has exactly one event, its `task-completed` marked reused.
   */
  | 'task-event'
  /** No task ran two attempts at once, and attempt / retry numbers agree with the log. */
  | 'attempts'
  /** The execution ended (only checked when `requireFinished`). */
  | 'finished'
  /** A child execution is waited for by its parent task's attempt while it runs, and ends when its parent does. */
  | 'children';

export interface Violation {
  invariant: InvariantName;
  executionId: string;
  taskId?: string;
  detail: string;
}

export interface InvariantOptions {
  /**
   * A skipped task must have a task event saying so (any task event with `data.status:
   * "skipped"`, e.g. `task-failed`) as its last one. Default true; pass false while the engine
   * does not yet emit an event for tasks skipped before they started.
   */
  skippedTaskEvents?: boolean;
  /** Every execution must have finished (at the end of a soak, after everything settled). Default false. */
  requireFinished?: boolean;
}

/** Thrown by the assert functions; lists every violation found. */
export class InvariantError extends Error {
  readonly violations: Violation[];
  constructor(violations: Violation[]) {
    super(`${violations.length} invariant violation(s):\n${violations.map(formatViolation).join('\n')}`);
    this.name = 'InvariantError';
    this.violations = violations;
  }
}

export function formatViolation(v: Violation): string {
  return `[${v.invariant}] ${v.executionId}${v.taskId ? ` ${v.taskId}` : ''}: ${v.detail}`;
}

/** Anything holding a postgres.js client: a Database, a TestDatabase, or the client itself. */
export type SqlSource = Sql | { sql: Sql };

const sqlOf = (source: SqlSource): Sql => ('sql' in source && typeof source.sql === 'function' ? source.sql : (source as Sql));

export async function assertExecutionInvariants(source: SqlSource, executionId: string, options: InvariantOptions = {}): Promise<void> {
  const violations = await checkInvariants(source, [executionId], options);
  if (violations.length > 0) throw new InvariantError(violations);
}

/** Checks every execution in the database. */
export async function assertAllInvariants(source: SqlSource, options: InvariantOptions = {}): Promise<void> {
  const violations = await checkInvariants(source, undefined, options);
  if (violations.length > 0) throw new InvariantError(violations);
}

type ExecutionRow = {
  id: string;
  status: string;
  finished: boolean;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
  skippedTasks: number;
};

export type TaskRow = {
  id: string;
  executionId: string;
  status: string;
  attempt: number;
  retryCount: number;
  maxRetries: number;
  pendingDependencies: number;
  /** Dependencies not completed yet. */
  unmet: number;
  /** Dependencies that failed or were skipped: this task can never become ready. */
  blocked: number;
  waiting: boolean;
  /** Waiting for a limit (throttle/): it must sleep on a live job, unstarted or in a durable wait. */
  throttled: boolean;
  leaseLive: boolean;
  jobLive: boolean;
  /** Carried over completed from the execution a re-run retries: no attempt, no agent run. */
  reused: boolean;
};

export type EventRow = { id: number; executionId: string; type: string; data: Record<string, unknown> };

const FINAL_EVENT: Record<string, string> = { completed: 'execution-completed', cancelled: 'execution-cancelled', failed: 'error' };
const FINAL_TYPES = new Set(Object.values(FINAL_EVENT));
const TERMINAL = new Set(['completed', 'failed', 'skipped']);

/**
 * Every violation of the engine's invariants among these executions (all when `executionIds`
 * is undefined). An unknown execution id is itself reported.
 */
export async function checkInvariants(source: SqlSource, executionIds: readonly string[] | undefined, options: InvariantOptions = {}): Promise<Violation[]> {
  const sql = sqlOf(source);
  const ids = executionIds ? [...executionIds] : null;
  const snapshot = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const executions = await tx<ExecutionRow[]>`
      select id, status, completed_at is not null as finished, total_tasks as "totalTasks", completed_tasks as "completedTasks",
        failed_tasks as "failedTasks", skipped_tasks as "skippedTasks"
      from executions where ${ids ? tx`id = any(${ids})` : tx`true`} order by id`;
    const [probe] = await tx<{ boss: boolean }[]>`select to_regclass('pgboss.job') is not null as boss`;
    const boss = probe?.boss ?? false;
    const jobLive = boss
      ? tx`exists (select 1 from pgboss.job j where j.name = 'agent.' || t.agent_type and j.id::text = t.job_id
          and j.state in ('created', 'retry', 'active'))`
      : tx`false`;
    const tasks = await tx<TaskRow[]>`
      select t.id, t.execution_id as "executionId", t.status, t.attempt, t.retry_count as "retryCount", t.max_retries as "maxRetries",
        t.pending_dependencies as "pendingDependencies",
        (select count(*) from tasks d where d.id = any(t.dependencies) and d.status <> 'completed')::int as unmet,
        (select count(*) from tasks d where d.id = any(t.dependencies) and d.status in ('failed', 'skipped'))::int as blocked,
        t.wake_at is not null as waiting, t.throttle_scope is not null as throttled, coalesce(t.lease_expires_at > now(), false) as "leaseLive", ${jobLive} as "jobLive", t.reused
      from tasks t where ${ids ? tx`t.execution_id = any(${ids})` : tx`true`} order by t.id`;
    const events = await tx<EventRow[]>`
      select id::float8 as id, execution_id as "executionId", type, data from execution_events
      where ${ids ? tx`execution_id = any(${ids})` : tx`true`} order by id`;
    const children = await tx<ChildRow[]>`
      select c.id, c.status, p.id as "parentId", p.status as "parentStatus", p.completed_at is not null as "parentFinished",
        c.parent_attempt as "parentAttempt", t.status as "taskStatus", t.attempt as "taskAttempt"
      from executions c join executions p on p.id = c.parent_execution_id left join tasks t on t.id = c.parent_task_id
      where ${ids ? tx`(c.id = any(${ids}) or p.id = any(${ids}))` : tx`true`} order by c.id`;
    return { executions: [...executions], tasks: [...tasks], events: [...events], children: [...children] };
  });
  const violations: Violation[] = [];
  if (ids) {
    const found = new Set(snapshot.executions.map((e) => e.id));
    for (const id of ids) if (!found.has(id)) violations.push({ invariant: 'finished', executionId: id, detail: 'no such execution' });
  }
  const tasksBy = groupBy(snapshot.tasks, (t) => t.executionId);
  const eventsBy = groupBy(snapshot.events, (e) => e.executionId);
  for (const execution of snapshot.executions) {
    violations.push(...checkExecution(execution, tasksBy.get(execution.id) ?? [], eventsBy.get(execution.id) ?? [], options));
  }
  violations.push(...childViolations(snapshot.children));
  return violations;
}

export type ChildRow = {
  id: string;
  status: string;
  parentId: string;
  parentStatus: string;
  parentFinished: boolean;
  parentAttempt: number | null;
  /** The parent task's status and attempt now (null if it is gone). */
  taskStatus: string | null;
  taskAttempt: number | null;
};

/**
 * A child that has not ended is waited for: its parent task is in progress (waiting, or its agent
 * looking at the child) on the attempt that started it; else nobody will ever read its end (an
 * orphan, until the worker's sweep cancels it). A parent that ended leaves no child running
 * (cancel and failure reach the children; a child may still be finishing its in-progress tasks).
 */
export function childViolations(children: readonly ChildRow[]): Violation[] {
  const out: Violation[] = [];
  for (const child of children) {
    if (!['pending', 'running', 'paused'].includes(child.status)) continue;
    if (child.parentFinished) {
      out.push({ invariant: 'children', executionId: child.id, detail: `${child.status} but its parent ${child.parentId} has ended (${child.parentStatus})` });
    } else if (child.taskStatus !== 'in_progress' || child.taskAttempt !== child.parentAttempt) {
      out.push({
        invariant: 'children',
        executionId: child.id,
        detail: `${child.status} but its parent task is ${child.taskStatus ?? 'gone'} at attempt ${child.taskAttempt ?? '-'}, not waiting at attempt ${child.parentAttempt}`,
      });
    }
  }
  return out;
}

/** The checks of one execution over its snapshot; pure, so every rule is easy to read and test. */
export function checkExecution(execution: ExecutionRow, tasks: readonly TaskRow[], events: readonly EventRow[], options: InvariantOptions = {}): Violation[] {
  const out: Violation[] = [];
  const add = (invariant: InvariantName, detail: string, taskId?: string) => out.push({ invariant, executionId: execution.id, ...(taskId ? { taskId } : {}), detail });

  // counts
  const count = (status: string) => tasks.filter((t) => t.status === status).length;
  const actual = { total: tasks.length, completed: count('completed'), failed: count('failed'), skipped: count('skipped') };
  const stored = { total: execution.totalTasks, completed: execution.completedTasks, failed: execution.failedTasks, skipped: execution.skippedTasks };
  if (JSON.stringify(actual) !== JSON.stringify(stored)) add('counts', `counters ${JSON.stringify(stored)} but tasks ${JSON.stringify(actual)}`);

  // finished, final event
  const active = ['pending', 'running', 'paused'].includes(execution.status);
  if (options.requireFinished && !execution.finished) add('finished', `execution never ended: it is ${execution.status} without completedAt`);
  const finals = events.filter((e) => FINAL_TYPES.has(e.type));
  if (execution.finished) {
    const expected = FINAL_EVENT[execution.status];
    if (!expected) add('final-event', `completedAt is set but the status is ${execution.status}`);
    if (finals.length !== 1) add('final-event', `${finals.length} final events (${finals.map((e) => `${e.type}#${e.id}`).join(', ') || 'none'}), expected exactly one`);
    const last = events.at(-1);
    if (finals.length > 0 && last && !FINAL_TYPES.has(last.type)) add('final-event', `the last event is ${last.type}#${last.id}, after the final event`);
    if (expected && finals.length > 0 && finals.at(-1)!.type !== expected) add('final-event', `status ${execution.status} but its final event is ${finals.at(-1)!.type}`);
  } else {
    if (execution.status === 'completed') add('final-event', 'completed without completedAt');
    if (finals.length > 0) add('final-event', `not finished (${execution.status}) but has final event ${finals.map((e) => `${e.type}#${e.id}`).join(', ')}`);
  }
  const started = events.filter((e) => e.type === 'execution-started');
  if (started.length > 1) add('final-event', `${started.length} execution-started events`);
  if (started.length === 0 && ['running', 'paused', 'completed', 'failed'].includes(execution.status)) add('final-event', `${execution.status} but never had execution-started`);
  if (started[0] && finals[0] && started.at(-1)!.id > finals[0].id) add('final-event', `execution-started#${started.at(-1)!.id} after ${finals[0].type}#${finals[0].id}`);

  // task state
  for (const task of tasks) {
    if (task.throttled && !(task.status === 'assigned' || (task.status === 'in_progress' && task.waiting))) add('task-state', `throttled but ${task.status}${task.status === 'in_progress' ? ' and running' : ''}`, task.id);
    else if (task.throttled && !task.jobLive) add('task-state', 'throttled without a live pg-boss job: nothing would wake it', task.id);
    if (TERMINAL.has(task.status)) continue;
    const where = `${task.status} (attempt ${task.attempt})`;
    if (execution.finished) {
      add('task-state', `${where} in a finished (${execution.status}) execution`, task.id);
      continue;
    }
    if (task.status === 'pending') {
      if (!active) add('task-state', `pending in a ${execution.status} execution: never skipped`, task.id);
      else if (task.pendingDependencies !== task.unmet) add('task-state', `pending_dependencies is ${task.pendingDependencies} but ${task.unmet} dependencies are not completed`, task.id);
      else if (execution.status === 'running' && task.blocked > 0) add('task-state', `pending behind ${task.blocked} failed/skipped dependencies in a running execution: can never run`, task.id);
      else if (execution.status === 'running' && task.unmet === 0) add('task-state', 'ready in a running execution but not queued', task.id);
    } else if (task.status === 'assigned') {
      if (execution.status !== 'running' && execution.status !== 'paused') add('task-state', `assigned in a ${execution.status} execution`, task.id);
      else if (!task.jobLive) add('task-state', 'assigned without a live pg-boss job', task.id);
    } else if (task.status === 'in_progress') {
      if (task.waiting) {
        if (execution.status !== 'running' && execution.status !== 'paused') add('task-state', `waiting (wake time set) in a ${execution.status} execution: it will never end`, task.id);
      } else if (!task.leaseLive) {
        add('task-state', 'in_progress with a lapsed lease', task.id);
      }
    }
  }

  // task events and attempts, from the log
  const taskEvents = groupBy(
    events.filter((e) => e.type.startsWith('task-') && typeof e.data.taskId === 'string'),
    (e) => e.data.taskId as string,
  );
  const skippedEvents = options.skippedTaskEvents ?? true;
  for (const task of tasks) {
    const log = taskEvents.get(task.id) ?? [];
    const completions = log.filter((e) => e.type === 'task-completed');
    const last = log.at(-1);
    if (task.status === 'completed') {
      if (completions.length !== 1) add('task-event', `completed with ${completions.length} task-completed events`, task.id);
      if (last && last.type !== 'task-completed') add('task-event', `completed but its last event is ${describe(last)}`, task.id);
    } else if (completions.length > 0) {
      add('task-event', `${task.status} but has task-completed#${completions[0]!.id}`, task.id);
    }
    if (task.status === 'failed' && !(last?.type === 'task-failed' && last.data.status === 'failed')) {
      add('task-event', `failed but its last event is ${last ? describe(last) : 'none'}`, task.id);
    }
    if (task.status === 'skipped' && skippedEvents && last?.data.status !== 'skipped') {
      add('task-event', `skipped but its last event is ${last ? describe(last) : 'none'}`, task.id);
    }
    const reusedEvents = completions.filter(isReused);
    if (task.reused) {
      if (task.status !== 'completed') add('task-event', `carried over (reused) but ${task.status}`, task.id);
      if (task.attempt !== 0) add('task-event', `carried over (reused) but at attempt ${task.attempt}: an agent was run for it`, task.id);
      if (log.length !== 1 || reusedEvents.length !== 1) add('task-event', `carried over (reused) with events ${log.map(describe).join(', ') || 'none'}: expected one task-completed marked reused`, task.id);
    } else if (reusedEvents.length > 0) {
      add('task-event', `not carried over but task-completed#${reusedEvents[0]!.id} is marked reused`, task.id);
    }
    for (const detail of attemptViolations(task, log)) add('attempts', detail, task.id);
  }
  return out;
}

/** The one event of a task carried over by a re-run: its completion, with no attempt behind it. */
const isReused = (e: EventRow) => e.type === 'task-completed' && e.data.reused === true;
/** A claim in the log: the `task-progress` the engine appends when a worker takes an attempt. */
const isClaim = (e: EventRow) => e.type === 'task-progress' && typeof e.data.attempt === 'number' && e.data.workerId !== undefined;
/**
 * What ends an attempt's run in the log: its outcome, the agent asking to wait, or any other
 * task event that moves the task out of in_progress (e.g. handed back by a stopping worker).
 */
const endsRun = (e: EventRow) =>
  e.type === 'task-completed' ||
  e.type === 'task-failed' ||
  (e.type === 'task-progress' && (e.data.waitingUntil !== undefined || (TASK_STATUS_NAMES.has(e.data.status) && e.data.status !== 'in_progress')));
/** A task-progress `status` that is not a task status (an approval answered, a signal received) says what happened, not where the task is. */
const TASK_STATUS_NAMES: ReadonlySet<unknown> = new Set(TASK_STATUSES);

/**
 * The log records when each attempt was queued (task-assigned, with its attempt), claimed
 * (task-progress with attempt and workerId) and ended (task-completed, task-failed, a wait, or
 * a task event with another task status than in_progress).
 * As the engine sees it, an attempt runs from its claim to its end: a claim while another run
 * is open, a claim of an attempt that is not the latest queued one, or an outcome with no run
 * open, means two attempts were live at once or a stale one was recorded. (The log cannot show
 * an agent that keeps running after the engine gave up on it; the soak's run log checks that.)
 */
export function attemptViolations(task: Pick<TaskRow, 'status' | 'attempt' | 'retryCount' | 'maxRetries'>, log: readonly EventRow[]): string[] {
  const out: string[] = [];
  let queued = 0;
  let open: number | null = null;
  for (const event of log) {
    if (event.type === 'task-assigned') {
      const attempt = Number(event.data.attempt);
      if (attempt !== queued + 1) out.push(`task-assigned#${event.id} queues attempt ${attempt} after attempt ${queued}`);
      if (open !== null) out.push(`task-assigned#${event.id} queues attempt ${attempt} while attempt ${open} is still running`);
      queued = attempt;
    } else if (isClaim(event)) {
      const attempt = Number(event.data.attempt);
      if (open !== null) out.push(`attempt ${attempt} claimed (#${event.id}) while attempt ${open} is still running`);
      if (attempt !== queued) out.push(`attempt ${attempt} claimed (#${event.id}) but the latest queued attempt is ${queued}`);
      open = attempt;
    } else if (endsRun(event)) {
      if (open === null && event.type === 'task-completed' && !isReused(event)) out.push(`task-completed#${event.id} with no attempt running`);
      open = null;
    }
  }
  if (queued > 0 && task.attempt !== queued) out.push(`task is at attempt ${task.attempt} but the log queued ${queued}`);
  const retries = log.filter((e) => e.type === 'task-failed' && e.data.willRetry === true).length;
  if (task.retryCount !== retries) out.push(`retry_count is ${task.retryCount} but the log has ${retries} retries`);
  if (task.retryCount > task.maxRetries) out.push(`retry_count ${task.retryCount} exceeds maxRetries ${task.maxRetries}`);
  // Each retry follows a failed attempt (the retry itself may never run: paused, then skipped).
  if (task.retryCount > task.attempt) out.push(`retry_count ${task.retryCount} with only ${task.attempt} attempts`);
  return out;
}

/** One run of an agent as an instrumented agent logged it (its own clock, start and end). */
export interface AgentRun {
  taskId: string;
  attempt: number;
  startedAt: number;
  endedAt: number;
  pid?: number;
}

/**
 * Runs of the same task that overlapped in time: the physical form of "a task runs at most
 * once at a time", which the event log cannot show (an agent the engine gave up on may still
 * be running). Runs that share an end and a start instant do not overlap.
 */
export function overlappingRuns(runs: readonly AgentRun[]): [AgentRun, AgentRun][] {
  const out: [AgentRun, AgentRun][] = [];
  for (const list of groupBy(runs, (r) => r.taskId).values()) {
    const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
    let latest: AgentRun | undefined;
    for (const run of sorted) {
      if (latest && run.startedAt < latest.endedAt) out.push([latest, run]);
      if (!latest || run.endedAt > latest.endedAt) latest = run;
    }
  }
  return out;
}

function describe(e: EventRow): string {
  return `${e.type}#${e.id}${typeof e.data.status === 'string' ? ` (status ${e.data.status})` : ''}`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}
