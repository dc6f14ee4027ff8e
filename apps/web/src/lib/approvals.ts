/**
 * Approvals as the dashboard shows them: the pending list (`GET /api/approvals`), an answer
 * (`POST /api/executions/:id/tasks/:taskId/approve|reject`), and how a task's progress reads
 * while it waits for one.
 */
import type { AgentTask, BridgeEvent } from '@strata/client';
import { type ApiResult, errorMessage, postJson } from './http.ts';
import type { RouterOutputs } from './types.ts';

/** One approval waiting for an answer. */
export type PendingApproval = RouterOutputs['approvals']['list']['approvals'][number];
/** What answering returns. */
export type AnswerResponse = RouterOutputs['approvals']['approve'];

/** The pending approvals of a workspace, or of one of its executions. */
export async function fetchApprovals(workspaceId: string, executionId?: string): Promise<ApiResult<PendingApproval[]>> {
  const query = `workspaceId=${encodeURIComponent(workspaceId)}${executionId ? `&executionId=${encodeURIComponent(executionId)}` : ''}`;
  let response: Response;
  try {
    response = await fetch(`/api/approvals?${query}`);
  } catch {
    return { ok: false, status: 0, error: 'The server could not be reached' };
  }
  if (!response.ok) return { ok: false, status: response.status, error: await errorMessage(response) };
  return { ok: true, data: ((await response.json()) as { approvals: PendingApproval[] }).approvals };
}

export function answerApproval(approval: Pick<PendingApproval, 'executionId' | 'taskId'>, approved: boolean, comment: string): Promise<ApiResult<AnswerResponse>> {
  const path = `/api/executions/${encodeURIComponent(approval.executionId)}/tasks/${encodeURIComponent(approval.taskId)}/${approved ? 'approve' : 'reject'}`;
  const trimmed = comment.trim();
  return postJson<AnswerResponse>(path, trimmed ? { comment: trimmed } : {});
}

/** What happens when nobody answers: "Rejected at 5:00 PM if unanswered", or nothing. */
export function timeoutText(approval: Pick<PendingApproval, 'timeoutAt' | 'onTimeout'>, format: (iso: string) => string): string | null {
  if (!approval.timeoutAt) return null;
  return `${approval.onTimeout === 'approve' ? 'Approved' : 'Rejected'} at ${format(approval.timeoutAt)} if unanswered`;
}

/** `details` as the approver reads them: text as it is, anything else as indented JSON; null when there are none. */
export function detailsText(details: unknown): string | null {
  if (details === null || details === undefined) return null;
  return typeof details === 'string' ? details : JSON.stringify(details, null, 2);
}

type Answerer = { name: string | null; email: string } | null;

/**
 * What a task's progress says about its approval or signal, for the drawer: "Waiting for
 * approval", "Approved by Ada: goes on when the execution resumes" (`paused`), ...; null for any
 * other progress.
 */
export function waitNote(task: Pick<AgentTask, 'status' | 'progress'>, paused: boolean): string | null {
  if (task.status !== 'in_progress' || !task.progress || typeof task.progress !== 'object') return null;
  const progress = task.progress as { status?: unknown; approved?: unknown; by?: Answerer; signal?: unknown };
  const who = progress.by ? (progress.by.name ?? progress.by.email) : null;
  const then = paused ? ': goes on when the execution resumes' : '';
  switch (progress.status) {
    case 'waiting_for_approval':
      return 'Waiting for approval';
    case 'approval_answered':
      return `${progress.approved ? 'Approved' : 'Rejected'}${who ? ` by ${who}` : ''}${then}`;
    case 'approval_timed_out':
      return `Not answered in time, so ${progress.approved ? 'approved' : 'rejected'}${then}`;
    case 'waiting_for_signal':
      return `Waiting for the signal "${String(progress.signal)}"`;
    case 'signal_received':
      return `Signal "${String(progress.signal)}" received${then}`;
    case 'signal_timed_out':
      return `No signal "${String(progress.signal)}" in time${then}`;
    default:
      return null;
  }
}

const APPROVAL_PROGRESS = new Set(['waiting_for_approval', 'approval_answered', 'approval_timed_out']);
const EXECUTION_CHANGES = new Set(['execution-paused', 'execution-resumed', 'execution-completed', 'execution-cancelled', 'error']);

/**
 * Whether an event of an execution's stream may change its pending approvals: one was asked for
 * or answered, a listed task ended, or the execution was paused, resumed or ended.
 */
export function changesApprovals(event: BridgeEvent, pending: readonly Pick<PendingApproval, 'taskId'>[]): boolean {
  if (event.type === 'task-progress') return APPROVAL_PROGRESS.has(String(event.data.status));
  if (event.type === 'task-completed' || event.type === 'task-failed') return pending.some((approval) => approval.taskId === event.data.taskId);
  return EXECUTION_CHANGES.has(event.type);
}
