import { sendSignal } from '@strata/engine';
import { sendSignalInput } from '../schemas.ts';
import { authedProcedure, rateLimit, router } from '../trpc.ts';
import { executionInWorkspace } from './executions.ts';

export const signalsRouter = router({
  /**
   * Sends a signal to an execution (operator and above, or an API token of such a member): tasks
   * waiting for its name go on with its payload. 404 unknown execution, 409 finished one; counted
   * by the control rate limit.
   */
  send: authedProcedure.input(sendSignalInput).mutation(async ({ ctx, input }) => {
    const execution = await executionInWorkspace(ctx, input.id, 'execute');
    await rateLimit(ctx, execution.workspaceId, 'control');
    return sendSignal(ctx.engine, { executionId: input.id, name: input.name, payload: input.payload, sentBy: ctx.principal.user.id });
  }),
});
