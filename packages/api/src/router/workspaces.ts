import { addMemberInput, createWorkspaceInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';
import { addMember, createWorkspace, listMemberships } from '../workspaces.ts';
import { accessDenied } from '../errors.ts';

export const workspacesRouter = router({
  create: authedProcedure.input(createWorkspaceInput).mutation(async ({ ctx, input }) => {
    // A token bound to one workspace cannot reach beyond it, not even to make another.
    if (ctx.principal.tokenWorkspaceId) throw accessDenied();
    return { workspace: await createWorkspace(ctx.db, ctx.principal.user.id, input.name) };
  }),
  list: authedProcedure.query(async ({ ctx }) => ({ workspaces: await listMemberships(ctx.db, ctx.principal) })),
  addMember: authedProcedure.input(addMemberInput).mutation(async ({ ctx, input }) => {
    const actingRole = await requireRole(ctx, input.workspaceId, 'manage');
    return { member: await addMember(ctx.db, { ...input, actingRole }) };
  }),
});
