import { analyticsSummary, errorAnalytics, executionAnalytics, queueAnalytics, taskAnalytics } from '@strata/engine';
import { analyticsErrorsInput, analyticsInput, workspaceIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/**
 * A workspace's analytics over whole UTC days (`from`, `to` included; the engine aggregates in
 * SQL): every member reads them, viewers too. A bad range is a 400 before the workspace is looked at.
 */
export const analyticsRouter = router({
  /** Every part at once: what the analytics page shows. */
  summary: authedProcedure.input(analyticsErrorsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return analyticsSummary(ctx.engine.db, input.workspaceId, input.range, { errorLimit: input.limit });
  }),
  executions: authedProcedure.input(analyticsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return executionAnalytics(ctx.engine.db, input.workspaceId, input.range);
  }),
  tasks: authedProcedure.input(analyticsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return taskAnalytics(ctx.engine.db, input.workspaceId, input.range);
  }),
  errors: authedProcedure.input(analyticsErrorsInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return errorAnalytics(ctx.engine.db, input.workspaceId, input.range, input.limit);
  }),
  /** Now, not over a range. */
  queues: authedProcedure.input(workspaceIdInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return queueAnalytics(ctx.engine.db, input.workspaceId);
  }),
});
