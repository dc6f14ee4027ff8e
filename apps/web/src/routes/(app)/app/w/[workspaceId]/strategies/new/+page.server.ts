import { error } from '@sveltejs/kit';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  if (!can.manage) error(403, 'Only admins and owners of this workspace create strategies');
  const { agents } = await withCaller(event, (caller) => caller.agents.list());
  return { workspace, agents };
};
