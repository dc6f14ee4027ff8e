import { error } from '@sveltejs/kit';
import { apiGet, apiGetOptional } from '#lib/server/rest.ts';
import type { ExecutionListItem, OutboxMessage, Strategy } from '#lib/types.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ fetch, params, parent, url }) => {
  const workspaceId = encodeURIComponent(params.workspaceId);
  const [{ me }, strategies, executions, outbox] = await Promise.all([
    parent(),
    apiGet<{ strategies: Strategy[] }>(fetch, `/api/strategies?workspaceId=${workspaceId}`, url),
    apiGet<{ executions: ExecutionListItem[] }>(fetch, `/api/executions?workspaceId=${workspaceId}&limit=20`, url),
    // The outbox may fail (or not exist on this server) without taking the page down.
    apiGetOptional<{ messages: OutboxMessage[] }>(fetch, `/api/outbox?workspaceId=${workspaceId}`, url),
  ]);
  const workspace = me.workspaces.find((w) => w.id === params.workspaceId);
  if (!workspace) error(404, 'Workspace not found');
  return {
    workspace,
    strategies: strategies.strategies,
    executions: executions.executions,
    outbox: { messages: outbox.data?.messages ?? [], missing: outbox.missing, error: outbox.error },
  };
};
