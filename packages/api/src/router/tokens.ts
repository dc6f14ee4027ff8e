import { createApiToken, listApiTokens, revokeApiToken } from '@strata/auth';
import { accessDenied } from '../errors.ts';
import { createTokenInput, listTokensInput, tokenIdInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

/** API tokens are managed from a signed-in session; a token cannot mint or revoke tokens. */
const sessionProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== 'session') throw accessDenied();
  return next();
});

export const tokensRouter = router({
  create: sessionProcedure.input(createTokenInput).mutation(async ({ ctx, input }) => {
    if (input.workspaceId) await requireRole(ctx, input.workspaceId, 'manage');
    return createApiToken(ctx.db, { userId: ctx.principal.user.id, name: input.name, ...(input.workspaceId ? { workspaceId: input.workspaceId } : {}), ...(input.expiresInDays ? { expiresInDays: input.expiresInDays } : {}) });
  }),
  list: sessionProcedure.input(listTokensInput).query(async ({ ctx, input }) => {
    const workspaceId = input?.workspaceId;
    if (workspaceId) await requireRole(ctx, workspaceId, 'read');
    return { tokens: await listApiTokens(ctx.db, ctx.principal.user.id, workspaceId ? { workspaceId } : {}) };
  }),
  revoke: sessionProcedure.input(tokenIdInput).mutation(async ({ ctx, input }) => {
    await revokeApiToken(ctx.db, { userId: ctx.principal.user.id, tokenId: input.id });
    return { success: true, id: input.id };
  }),
});
