import { error } from '@sveltejs/kit';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  if (!can.manage) error(403, 'Only admins and owners of this workspace edit strategies');
  const [{ strategy }, { agents }, { strategies }] = await withCaller(event, (caller) =>
    Promise.all([caller.strategies.get({ id: event.params.strategyId }), caller.agents.list(), caller.strategies.list({ workspaceId: workspace.id })]),
  );
  if (strategy.workspaceId !== workspace.id) error(404, `Strategy not found: ${event.params.strategyId}`);
  if (strategy.archivedAt) error(409, `Strategy ${strategy.id} is archived`);
  // What a `strategy` item may run: the workspace's other strategies (running itself is a cycle).
  return { workspace, strategy, agents, strategies: strategies.filter((s) => s.id !== strategy.id).map((s) => ({ id: s.id, name: s.name })) };
};
