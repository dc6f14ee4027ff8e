import { apiGetOptional } from '#lib/server/rest.ts';
import type { ReceivedInvitation } from '#lib/types.ts';
import type { PageServerLoad } from './$types';

/** The workspaces come from the layout; the invitations waiting for this person are loaded here. */
export const load: PageServerLoad = async ({ fetch, url }) => {
  const invitations = await apiGetOptional<{ invitations: ReceivedInvitation[] }>(fetch, '/api/invitations', url);
  return { invitations: invitations.data?.invitations ?? [], invitationsError: invitations.error };
};
