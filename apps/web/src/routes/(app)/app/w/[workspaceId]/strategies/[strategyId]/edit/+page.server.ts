import { error } from '@sveltejs/kit';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  if (!can.manage) error(403, 'Only admins and owners of this workspace edit strategies');
  const [{ strategy }, { agents }] = await withCaller(event, (caller) => Promise.all([caller.strategies.get({ id: event.params.strategyId }), caller.agents.list()]));
  if (strategy.workspaceId !== workspace.id) error(404, `Strategy not found: ${event.params.strategyId}`);
  if (strategy.archivedAt) error(409, `Strategy ${strategy.id} is archived`);
  return { workspace, strategy, agents };
};
