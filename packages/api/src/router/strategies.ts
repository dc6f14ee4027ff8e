import { archiveStrategy, createStrategy, findStrategy, getStrategy, listStrategies, listStrategyVersions, updateStrategy, type WriteOptions } from '@strata/engine';
import type { Principal } from '@strata/auth';
import type { Permission } from '@strata/auth';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { createStrategyInput, getStrategyInput, strategyIdInput, updateStrategyInput, workspaceIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

type AuthedContext = ApiContext & { principal: Principal };

/** The strategy's workspace role check: 404 when it does not exist, 403 when the caller may not act on it. */
async function authorizeStrategy(ctx: AuthedContext, id: string, permission: Permission) {
  const found = await findStrategy(ctx.db, id);
  if (!found) throw notFound(`Strategy not found: ${id}`);
  await requireRole(ctx, found.workspaceId, permission);
  return found;
}

/** Who writes, and the agents' input checks: the same for a creation and an edit. */
const writeOptions = (ctx: AuthedContext): WriteOptions => ({ createdBy: ctx.principal.user.id, checkInput: (type, input) => ctx.agents.inputIssue(type, input) });

export const strategiesRouter = router({
  create: authedProcedure.input(createStrategyInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    return { strategy: await createStrategy(ctx.db, input, writeOptions(ctx)) };
  }),
  get: authedProcedure.input(getStrategyInput).query(async ({ ctx, input }) => {
    await authorizeStrategy(ctx, input.id, 'read');
    return { strategy: await getStrategy(ctx.db, input.id, input.version) };
  }),
  list: authedProcedure.input(workspaceIdInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'read');
    return { strategies: await listStrategies(ctx.db, input.workspaceId) };
  }),
  /** Replaces the definition with a new immutable version; executions keep the version they started with. */
  update: authedProcedure.input(updateStrategyInput).mutation(async ({ ctx, input }) => {
    await authorizeStrategy(ctx, input.id, 'manage');
    const { id, baseVersion, ...definition } = input;
    return { strategy: await updateStrategy(ctx.db, id, definition, { ...writeOptions(ctx), ...(baseVersion !== undefined ? { baseVersion } : {}) }) };
  }),
  versions: authedProcedure.input(strategyIdInput).query(async ({ ctx, input }) => {
    await authorizeStrategy(ctx, input.id, 'read');
    return { versions: await listStrategyVersions(ctx.db, input.id) };
  }),
  /** Archives: gone from lists, cannot be started or edited; its executions stay readable. */
  archive: authedProcedure.input(strategyIdInput).mutation(async ({ ctx, input }) => {
    await authorizeStrategy(ctx, input.id, 'manage');
    return { success: true as const, strategy: await archiveStrategy(ctx.db, input.id) };
  }),
});
