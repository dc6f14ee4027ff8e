import { getWorkspaceLimits, setWorkspaceLimits } from '@strata/engine';
import { setWorkspaceLimitsInput, workspaceIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/** A workspace's limits per agent type: every member reads them, admins replace them. */
export const limitsRouter = router({
  get: authedProcedure.input(workspaceIdInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return getWorkspaceLimits(ctx.engine, input.workspaceId);
  }),
  /** Replaces the whole set: an agent type left out is unlimited again. */
  set: authedProcedure.input(setWorkspaceLimitsInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    const { workspaceId, ...limits } = input;
    return setWorkspaceLimits(ctx.engine, workspaceId, limits);
  }),
});
