import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  const { strategies } = await withCaller(event, (caller) => caller.strategies.list({ workspaceId: workspace.id }));
  return { workspace, can, strategies };
};
