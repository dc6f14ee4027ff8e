import { roleAllows } from '@strata/auth';
import { error } from '@sveltejs/kit';
import { errorMessage } from '#lib/http.ts';
import { loginRedirect } from '#lib/server/rest.ts';
import type { ExecutionOverview, RouterOutputs } from '#lib/types.ts';
import type { PageServerLoad } from './$types';

/**
 * The name of the strategy at the version an execution runs, and its latest version, for the
 * header; null when they cannot be read (the execution page does not depend on them).
 */
async function strategyOf(fetch: typeof globalThis.fetch, strategyId: string, version: number): Promise<{ name: string; latestVersion: number } | null> {
  try {
    const response = await fetch(`/api/strategies/${encodeURIComponent(strategyId)}/versions`);
    if (!response.ok) return null;
    const { versions } = (await response.json()) as RouterOutputs['strategies']['versions'];
    const latest = versions[0];
    if (!latest) return null;
    return { name: (versions.find((v) => v.version === version) ?? latest).name, latestVersion: latest.version };
  } catch {
    return null;
  }
}

/** A child execution: the key of the parent's task that started it; null when it cannot be read. */
async function parentTaskKeyOf(fetch: typeof globalThis.fetch, execution: ExecutionOverview['execution']): Promise<string | null> {
  if (!execution.parentExecutionId || !execution.parentTaskId) return null;
  try {
    const response = await fetch(`/api/executions/${encodeURIComponent(execution.parentExecutionId)}/tasks/${encodeURIComponent(execution.parentTaskId)}`);
    if (!response.ok) return null;
    return ((await response.json()) as RouterOutputs['executions']['task']).task.key;
  } catch {
    return null;
  }
}

/**
 * A bad execution link is a 404 page and someone else's a 403 page, before any stream opens;
 * the page also learns whose the execution is and whether this person may control it.
 */
export const load: PageServerLoad = async ({ fetch, params, parent, url }) => {
  const response = await fetch(`/api/executions/${encodeURIComponent(params.id)}`);
  if (response.status === 401) loginRedirect(url);
  // A malformed id is as missing as an unknown one.
  if (response.status === 400 || response.status === 404) error(404, 'Execution not found');
  if (response.status === 403) error(403, 'You do not have access to this execution');
  if (!response.ok) error(response.status, await errorMessage(response));
  const overview = (await response.json()) as ExecutionOverview;
  const [{ me }, strategy, parentTaskKey] = await Promise.all([
    parent(),
    strategyOf(fetch, overview.execution.strategyId, overview.execution.strategyVersion),
    parentTaskKeyOf(fetch, overview.execution),
  ]);
  const workspace = me.workspaces.find((w) => w.id === overview.execution.workspaceId) ?? null;
  return {
    execution: overview.execution,
    strategy,
    parentTaskKey,
    workspace,
    canControl: workspace ? roleAllows(workspace.role, 'execute') : false,
  };
};
