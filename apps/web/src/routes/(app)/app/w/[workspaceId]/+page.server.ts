import { AGENT_TYPES, EXECUTION_STATUSES } from '@strata/db';
import { error } from '@sveltejs/kit';
import { apiGet, apiGetOptional } from '#lib/server/rest.ts';
import { withCaller } from '#lib/server/trpc.ts';
import { workspaceOf } from '#lib/server/workspace.ts';
import type { OutboxMessage, WorkspaceMembers } from '#lib/types.ts';
import type { PageServerLoad } from './$types';
import type { ApiTokenInfo, ExecutionPage, WebhookInfo } from './api-types.ts';
import { EXECUTIONS_PAGE } from './runs.ts';

export const load: PageServerLoad = async (event) => {
  const { fetch, params, parent, url } = event;
  const workspaceId = encodeURIComponent(params.workspaceId);
  const [{ me }, strategies, schedules, approvals, executions, outbox, limits] = await Promise.all([
    parent(),
    withCaller(event, (caller) => caller.strategies.list({ workspaceId: params.workspaceId })),
    withCaller(event, (caller) => caller.schedules.list({ workspaceId: params.workspaceId })),
    withCaller(event, (caller) => caller.approvals.list({ workspaceId: params.workspaceId })),
    apiGet<ExecutionPage>(fetch, `/api/executions?workspaceId=${workspaceId}&limit=${EXECUTIONS_PAGE}`, url),
    // The outbox may fail (or not exist on this server) without taking the page down.
    apiGetOptional<{ messages: OutboxMessage[] }>(fetch, `/api/outbox?workspaceId=${workspaceId}`, url),
    withCaller(event, (caller) => caller.limits.get({ workspaceId: params.workspaceId })),
  ]);
  const workspace = me.workspaces.find((w) => w.id === params.workspaceId);
  if (!workspace) error(404, 'Workspace not found');
  // Admins and owners manage members; nobody else is shown (or may read) the list.
  const manages = workspace.role === 'owner' || workspace.role === 'admin';
  const [members, tokens, webhooks] = manages
    ? await Promise.all([
        apiGetOptional<WorkspaceMembers>(fetch, `/api/workspaces/${workspaceId}/members`, url),
        apiGetOptional<{ tokens: ApiTokenInfo[] }>(fetch, `/api/tokens?workspaceId=${workspaceId}`, url),
        apiGetOptional<{ webhooks: WebhookInfo[] }>(fetch, `/api/webhooks?workspaceId=${workspaceId}`, url),
      ])
    : [null, null, null];
  return {
    workspace,
    can: workspaceOf(me, workspace.id).can,
    userId: me.user.id,
    members: members ? { data: members.data, error: members.error } : null,
    tokens: tokens ? { data: tokens.data?.tokens ?? null, error: tokens.error } : null,
    /** Admins and owners manage alerts by webhook. */
    webhooks: webhooks ? { data: webhooks.data?.webhooks ?? null, error: webhooks.error } : null,
    strategies: strategies.strategies,
    schedules: schedules.schedules,
    approvals: approvals.approvals,
    executions,
    /** The statuses the executions list filters by, in lifecycle order. */
    executionStatuses: EXECUTION_STATUSES,
    outbox: { messages: outbox.data?.messages ?? [], missing: outbox.missing, error: outbox.error },
    /** Every member reads the limits per agent type; admins edit them. */
    limits,
    agentTypes: AGENT_TYPES,
  };
};
