import { roleAllows } from '@strata/auth';
import { error } from '@sveltejs/kit';
import type { Me } from '../types.ts';

/** The workspace a page belongs to, from the caller's memberships, and what their role lets them do there. */
export function workspaceOf(me: Me, workspaceId: string) {
  const workspace = me.workspaces.find((w) => w.id === workspaceId);
  if (!workspace) error(404, 'Workspace not found');
  return { workspace, can: { manage: roleAllows(workspace.role, 'manage'), start: roleAllows(workspace.role, 'execute') } };
}
