import { createStrategy, findStrategy, getStrategy, listStrategies } from '@strata/engine';
import { notFound } from '../errors.ts';
import { createStrategyInput, strategyIdInput, workspaceIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

export const strategiesRouter = router({
  create: authedProcedure.input(createStrategyInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    const strategy = await createStrategy(ctx.db, input, { createdBy: ctx.principal.user.id, ...(ctx.checkInput ? { checkInput: ctx.checkInput } : {}) });
    return { strategy };
  }),
  get: authedProcedure.input(strategyIdInput).query(async ({ ctx, input }) => {
    const found = await findStrategy(ctx.db, input.id);
    if (!found) throw notFound(`Strategy not found: ${input.id}`);
    await requireRole(ctx, found.workspaceId, 'read');
    return { strategy: await getStrategy(ctx.db, input.id) };
  }),
  list: authedProcedure.input(workspaceIdInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return { strategies: await listStrategies(ctx.db, input.workspaceId) };
  }),
});
