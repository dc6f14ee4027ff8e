import { error } from '@sveltejs/kit';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  if (!can.manage) error(403, 'Only admins and owners of this workspace create strategies');
  const [{ agents }, { strategies }] = await withCaller(event, (caller) => Promise.all([caller.agents.list(), caller.strategies.list({ workspaceId: workspace.id })]));
  // What a `strategy` item may run: the workspace's strategies, by name.
  return { workspace, agents, strategies: strategies.map((s) => ({ id: s.id, name: s.name })) };
};
