import { listReceivedInvitations, respondToInvitation } from '@strata/auth';
import { accessDenied } from '../errors.ts';
import { invitationIdInput } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

/**
 * The caller's own invitations. A token bound to one workspace acts only there, so it can
 * neither see nor answer invitations to others.
 */
const inviteeProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.tokenWorkspaceId) throw accessDenied();
  return next();
});

export const invitationsRouter = router({
  list: inviteeProcedure.query(async ({ ctx }) => ({ invitations: await listReceivedInvitations(ctx.db, ctx.principal.user) })),
  accept: inviteeProcedure
    .input(invitationIdInput)
    .mutation(async ({ ctx, input }) => respondToInvitation(ctx.db, { invitationId: input.id, user: ctx.principal.user, accept: true })),
  decline: inviteeProcedure
    .input(invitationIdInput)
    .mutation(async ({ ctx, input }) => respondToInvitation(ctx.db, { invitationId: input.id, user: ctx.principal.user, accept: false })),
});
