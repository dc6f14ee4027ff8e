import { answerApproval, getTaskView, listPendingApprovals } from '@strata/engine';
import { notFound } from '../errors.ts';
import { answerApprovalInput, listApprovalsInput } from '../schemas.ts';
import { authedProcedure, rateLimit, requireRole, router } from '../trpc.ts';
import { executionInWorkspace } from './executions.ts';

/**
 * A person's answer to a task waiting for approval (operator and above; a token acts with its
 * user's role). Judged in DESIGN.md's order: the body, the execution and task (404) and the
 * role (403), the control rate limit (429), then the approval's state (409: already answered,
 * timed out, not asking, the execution ended).
 */
function answer(approved: boolean) {
  return authedProcedure.input(answerApprovalInput).mutation(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'execute');
    if (!(await getTaskView(ctx.db, input.id, input.taskId))) throw notFound('Task not found');
    await rateLimit(ctx, execution.workspaceId, 'control');
    const approval = await answerApproval(ctx.engine, { executionId: input.id, taskId: input.taskId, approved, userId: ctx.principal.user.id, comment: input.comment || undefined });
    return { success: true as const, message: approved ? 'Approved' : 'Rejected', approval };
  });
}

export const approvalsRouter = router({
  /** The approvals waiting for an answer in a workspace (or one of its executions), oldest first: viewers may read them. */
  list: authedProcedure.input(listApprovalsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return { approvals: await listPendingApprovals(ctx.db, input) };
  }),
  approve: answer(true),
  reject: answer(false),
});
