import type { ApprovalOnTimeout, ApprovalStatus, Db, ExecutionStatus } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import { isTerminalStatus } from '../contract.ts';
import { conflict, NonRetryableError, notFound, WaitRequest } from '../errors.ts';
import { appendEvents } from '../events.ts';
import { hookPoint } from '../hooks.ts';
import { lockExecutions, transaction } from '../tx.ts';
import { type AttemptRef, holdingAttempt } from './attempt.ts';
import { EXTERNAL_WAIT_MAX_HOLD_SECONDS, wakeWaitingTasks } from './wake.ts';
import { queueApprovalRequested } from '../webhooks/trigger.ts';

export const APPROVAL_LIMITS = {
  promptMaxChars: 2000,
  /** `details` as JSON, in UTF-8 bytes. */
  detailsMaxBytes: 16 * 1024,
  commentMaxChars: 2000,
  timeoutMaxSeconds: EXTERNAL_WAIT_MAX_HOLD_SECONDS,
} as const;

/** What a task asks a person (the `approval` agent's input). */
export interface ApprovalRequest {
  prompt: string;
  details?: unknown;
  /** Unanswered after this long, `onTimeout` decides; none: it waits as long as it takes. */
  timeoutSeconds?: number | undefined;
  onTimeout?: ApprovalOnTimeout | undefined;
}

/** Who answered. */
export interface ApprovalAnswerer {
  id: string;
  name: string | null;
  email: string;
}

/** The decision a task goes on with: `by` is null when the approval timed out (`onTimeout` decided). */
export interface ApprovalDecision {
  approved: boolean;
  by: ApprovalAnswerer | null;
  at: string;
  comment: string | null;
  timedOut: boolean;
}

/** An approval as the API shows it. */
export interface ApprovalView {
  executionId: string;
  taskId: string;
  status: ApprovalStatus;
  prompt: string;
  details: unknown;
  onTimeout: ApprovalOnTimeout;
  timeoutAt: string | null;
  by: ApprovalAnswerer | null;
  comment: string | null;
  answeredAt: string | null;
  createdAt: string;
}

type ApprovalRow = {
  taskId: string;
  executionId: string;
  status: ApprovalStatus;
  prompt: string;
  details: unknown;
  onTimeout: ApprovalOnTimeout;
  timeoutAt: string | null;
  comment: string | null;
  answeredAt: string | null;
  createdAt: string;
  byId: string | null;
  byName: string | null;
  byEmail: string | null;
  /** When the task is held next (its timeout, or the longest hold). */
  holdUntil: string;
  timedOut: boolean;
};

const isoText = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

const approvalColumns = sql`a.task_id as "taskId", a.execution_id as "executionId", a.status, a.prompt, a.details, a.on_timeout as "onTimeout",
  ${isoText('a.timeout_at')} as "timeoutAt", a.comment, ${isoText('a.answered_at')} as "answeredAt", ${isoText('a.created_at')} as "createdAt",
  u.id as "byId", u.name as "byName", u.email as "byEmail",
  ${isoText(`least(a.timeout_at, now() + interval '${EXTERNAL_WAIT_MAX_HOLD_SECONDS} seconds')`)} as "holdUntil", a.status = 'timed_out' as "timedOut"`;

const byOf = (row: ApprovalRow): ApprovalAnswerer | null => (row.byId && row.byEmail ? { id: row.byId, name: row.byName, email: row.byEmail } : null);

const viewOf = (row: ApprovalRow): ApprovalView => ({
  executionId: row.executionId,
  taskId: row.taskId,
  status: row.status,
  prompt: row.prompt,
  details: row.details ?? null,
  onTimeout: row.onTimeout,
  timeoutAt: row.timeoutAt,
  by: byOf(row),
  comment: row.comment,
  answeredAt: row.answeredAt,
  createdAt: row.createdAt,
});

const decisionOf = (row: ApprovalRow): ApprovalDecision => ({
  approved: row.status === 'approved' || (row.status === 'timed_out' && row.onTimeout === 'approve'),
  by: byOf(row),
  at: row.answeredAt ?? new Date().toISOString(),
  comment: row.comment,
  timedOut: row.timedOut,
});

/** What a waiting approval task shows (its progress, and the `task-progress` event's data). */
const waitingProgress = (row: ApprovalRow) => ({ status: 'waiting_for_approval', prompt: row.prompt, timeoutAt: row.timeoutAt, onTimeout: row.onTimeout });

/** What an approval task that has its decision but waits for its execution's resume shows. */
const decidedProgress = (row: ApprovalRow) => {
  const decision = decisionOf(row);
  return { status: decision.timedOut ? 'approval_timed_out' : 'approval_answered', prompt: row.prompt, ...decision };
};

/**
 * For the agent (`ctx.waitForApproval`): the decision on this task's approval, asking for it the
 * first time. Until there is one, the task waits durably (the WaitRequest thrown here), with
 * `task-progress` `{ status: "waiting_for_approval", prompt }`, until an answer wakes it
 * (answerApproval) or its timeout does; the agent then runs again and calls this again. An
 * approval whose timeout has passed is decided here, once: by `onTimeout`, `by` null. While its
 * execution is paused a decided approval is held until resume (which wakes it), so neither an
 * answer nor a timeout moves a paused run.
 */
export async function awaitApproval(ctx: EngineContext, task: AttemptRef, request: ApprovalRequest): Promise<ApprovalDecision> {
  const outcome = await transaction(ctx.db, async (tx) => {
    const execution = await holdingAttempt(tx, task);
    const [signalWait] = await tx.execute(sql`select 1 from signal_waits where task_id = ${task.id}`);
    if (signalWait) throw new NonRetryableError('A task waits for a signal or asks for an approval, not both');
    const timeout = request.timeoutSeconds ? sql`now() + ${request.timeoutSeconds} * interval '1 second'` : sql`null`;
    const asked = await tx.execute<{ timeoutAt: string | null; onTimeout: string }>(sql`
      insert into approvals (task_id, execution_id, workspace_id, prompt, details, on_timeout, timeout_at)
      values (${task.id}, ${task.executionId}, ${task.workspaceId}, ${request.prompt}, ${request.details === undefined ? null : JSON.stringify(request.details)}::jsonb,
        ${request.onTimeout ?? 'reject'}, ${timeout})
      on conflict (task_id) do nothing
      returning ${isoText('timeout_at')} as "timeoutAt", on_timeout as "onTimeout"`);
    // Asked for the first time (not a re-run of the agent after a wake-up): the webhooks hear of it with the row.
    const first = asked[0];
    if (first) await queueApprovalRequested(tx, ctx.queue, { executionId: task.executionId, taskId: task.id, prompt: request.prompt, ...first });
    await hookPoint('approvals:before-timeout', { taskId: task.id });
    // The timeout decides only an approval nobody answered first: the row's lock orders the two.
    await tx.execute(sql`update approvals set status = 'timed_out', answered_at = now() where task_id = ${task.id} and status = 'pending' and timeout_at <= now()`);
    const [row] = await tx.execute<ApprovalRow>(sql`select ${approvalColumns} from approvals a left join users u on u.id = a.answered_by where a.task_id = ${task.id}`);
    return { row: row!, paused: execution.status === 'paused' };
  });
  const { row, paused } = outcome;
  if (row.status === 'pending') throw new WaitRequest(new Date(row.holdUntil), { progress: waitingProgress(row), wakeWhenReady: true });
  if (paused) throw new WaitRequest(new Date(Date.now() + EXTERNAL_WAIT_MAX_HOLD_SECONDS * 1000), { progress: decidedProgress(row) });
  return decisionOf(row);
}

export interface AnswerApprovalInput {
  executionId: string;
  taskId: string;
  approved: boolean;
  /** The user answering (a member with the operator role or above: the API checks). */
  userId: string;
  comment?: string | undefined;
}

const STATUS_WORDS: Record<ApprovalStatus, string> = { pending: 'pending', approved: 'approved', rejected: 'rejected', timed_out: 'timed out' };

/**
 * A person's answer to a task's approval, once: a second answer, an answer after the timeout or
 * to an execution that has ended is a CONFLICT. A running execution's task wakes at once (a new
 * job, due now, fenced against the wait's delayed one); a paused one's is recorded and goes on
 * at resume. Emits `task-progress` `{ status: "approval_answered", approved, by, at, comment }`.
 */
export async function answerApproval(ctx: EngineContext, input: AnswerApprovalInput): Promise<ApprovalView> {
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(tx, [input.executionId]);
    const execution = locked.get(input.executionId);
    if (!execution) throw notFound('Execution not found');
    await hookPoint('approvals:answer-locked', { taskId: input.taskId, executionId: input.executionId });
    const [task] = await tx.execute<{ id: string; key: string; agentType: string; status: string; waiting: boolean }>(sql`
      select id, key, agent_type as "agentType", status, wake_at is not null as waiting from tasks where id = ${input.taskId} and execution_id = ${input.executionId}`);
    if (!task) throw notFound('Task not found');
    const [current] = await tx.execute<ApprovalRow & { expired: boolean }>(sql`
      select ${approvalColumns}, a.timeout_at <= now() as expired from approvals a left join users u on u.id = a.answered_by
      where a.task_id = ${input.taskId} for update of a`);
    if (isTerminalStatus(execution.status)) throw conflict(`Cannot answer an approval of an execution that is ${execution.status}`, { status: execution.status });
    if (!current) {
      const why = task.agentType === 'approval' ? `has not asked yet (it is ${task.status})` : `is a ${task.agentType} task`;
      throw conflict(`Task "${task.key}" is not waiting for approval: it ${why}`);
    }
    if (current.status !== 'pending') {
      const by = current.byName ?? current.byEmail;
      throw conflict(`The approval was already ${STATUS_WORDS[current.status]}${by ? ` by ${by}` : ''}`, { approvalStatus: current.status });
    }
    if (current.expired) throw conflict('The approval timed out', { approvalStatus: 'timed_out' });
    const [answered] = await tx.execute<ApprovalRow>(sql`
      with answered as (
        update approvals set status = ${input.approved ? 'approved' : 'rejected'}, answered_by = ${input.userId}, comment = ${input.comment ?? null}, answered_at = now()
        where task_id = ${input.taskId} returning *)
      select ${approvalColumns} from answered a left join users u on u.id = a.answered_by`);
    const row = answered!;
    const shown = decidedProgress(row);
    if (task.status === 'in_progress' && task.waiting) await tx.execute(sql`update tasks set progress = ${JSON.stringify(shown)}::jsonb where id = ${task.id}`);
    await appendEvents(tx, [{ executionId: input.executionId, type: 'task-progress', data: { taskId: task.id, ...shown, progress: shown } }]);
    // Running: on now. Paused: resume wakes it. A task still deciding to wait (no wake-up time yet) is woken as its wait is recorded.
    if (execution.status === 'running') await wakeWaitingTasks(tx, ctx.queue, sql`t.id = ${task.id}`);
    return viewOf(row);
  });
}

export type PendingApproval = {
  executionId: string;
  executionStatus: ExecutionStatus;
  strategyId: string;
  strategyName: string | null;
  taskId: string;
  taskKey: string;
  taskDescription: string;
  prompt: string;
  details: unknown;
  /** When the task asked. */
  since: string;
  timeoutAt: string | null;
  onTimeout: ApprovalOnTimeout;
};

const PENDING_LIST_LIMIT = 500;

/**
 * The approvals waiting for an answer in a workspace (or one execution of it), oldest first:
 * those of running and paused executions whose task waits and whose timeout has not passed.
 */
export async function listPendingApprovals(db: Db, filter: { workspaceId: string; executionId?: string | undefined }): Promise<PendingApproval[]> {
  const rows = await db.execute<PendingApproval>(sql`
    select a.execution_id as "executionId", e.status as "executionStatus", e.strategy_id as "strategyId", s.name as "strategyName",
      a.task_id as "taskId", t.key as "taskKey", t.description as "taskDescription", a.prompt, a.details,
      ${isoText('a.created_at')} as since, ${isoText('a.timeout_at')} as "timeoutAt", a.on_timeout as "onTimeout"
    from approvals a
      join tasks t on t.id = a.task_id
      join executions e on e.id = a.execution_id
      left join strategies s on s.id = e.strategy_id
    where a.workspace_id = ${filter.workspaceId} and a.status = 'pending' and (a.timeout_at is null or a.timeout_at > now())
      ${filter.executionId ? sql`and a.execution_id = ${filter.executionId}` : sql``}
      and t.status = 'in_progress' and e.status in ('running', 'paused')
    order by a.created_at, a.task_id
    limit ${PENDING_LIST_LIMIT}`);
  return rows.map((row) => ({ ...row, details: row.details ?? null }));
}
