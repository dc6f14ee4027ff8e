import {
  changeMemberRole,
  createWorkspace,
  inviteMember,
  listMembers,
  listMemberships,
  listPendingInvitations,
  removeMember,
  revokeInvitation,
} from '@strata/auth';
import { accessDenied } from '../errors.ts';
import { addMemberInput, changeRoleInput, createWorkspaceInput, memberInput, workspaceIdInput, workspaceInvitationInput } from '../schemas.ts';
import { authedProcedure, requireRole, router } from '../trpc.ts';

export const workspacesRouter = router({
  create: authedProcedure.input(createWorkspaceInput).mutation(async ({ ctx, input }) => {
    // A token bound to one workspace cannot reach beyond it, not even to make another.
    if (ctx.principal.tokenWorkspaceId) throw accessDenied();
    return { workspace: await createWorkspace(ctx.db, ctx.principal.user.id, input.name) };
  }),
  list: authedProcedure.query(async ({ ctx }) => ({ workspaces: await listMemberships(ctx.db, ctx.principal) })),
  /** Invites the email (whether or not it has an account: the answer is the same). */
  addMember: authedProcedure.input(addMemberInput).mutation(async ({ ctx, input }) => {
    const actingRole = await requireRole(ctx, input.workspaceId, 'manage');
    return { invitation: await inviteMember(ctx.db, { ...input, actingRole, invitedBy: ctx.principal.user.id }) };
  }),
  members: authedProcedure.input(workspaceIdInput).query(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    const [members, invitations] = await Promise.all([listMembers(ctx.db, input.workspaceId), listPendingInvitations(ctx.db, input.workspaceId)]);
    return { members, invitations };
  }),
  changeRole: authedProcedure.input(changeRoleInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, 'manage');
    return { member: await changeMemberRole(ctx.db, { ...input, actorId: ctx.principal.user.id }) };
  }),
  /** Removes a member; a member removing themselves leaves. */
  removeMember: authedProcedure.input(memberInput).mutation(async ({ ctx, input }) => {
    await requireRole(ctx, input.workspaceId, input.userId === ctx.principal.user.id ? 'read' : 'manage');
    await removeMember(ctx.db, { ...input, actorId: ctx.principal.user.id });
    return { success: true as const };
  }),
  revokeInvitation: authedProcedure.input(workspaceInvitationInput).mutation(async ({ ctx, input }) => {
    const actingRole = await requireRole(ctx, input.workspaceId, 'manage');
    return { invitation: await revokeInvitation(ctx.db, { ...input, actingRole }) };
  }),
});
