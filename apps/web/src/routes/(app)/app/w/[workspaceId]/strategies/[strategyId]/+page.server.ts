import { error } from '@sveltejs/kit';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { PageServerLoad } from './$types';

/** A strategy (the latest version, or `?version=N`) with its version history and its schedules. */
export const load: PageServerLoad = async (event) => {
  const { me } = await event.parent();
  const { workspace, can } = workspaceOf(me, event.params.workspaceId);
  const raw = event.url.searchParams.get('version');
  const version = raw === null ? undefined : Number(raw);
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) error(400, 'version must be a positive whole number');
  const [{ strategy }, { versions }, { schedules }] = await withCaller(event, (caller) =>
    Promise.all([
      caller.strategies.get({ id: event.params.strategyId, ...(version ? { version } : {}) }),
      caller.strategies.versions({ id: event.params.strategyId }),
      caller.schedules.list({ workspaceId: workspace.id, strategyId: event.params.strategyId }),
    ]),
  );
  // A link that puts a strategy under another workspace it is not in.
  if (strategy.workspaceId !== workspace.id) error(404, `Strategy not found: ${event.params.strategyId}`);
  return { workspace, can, strategy, versions, schedules };
};
