import { type Db, memberships, type Role } from '@strata/db';
import { and, eq } from 'drizzle-orm';
import type { Principal } from './credentials.ts';

export type { Role };
export type Permission = 'read' | 'execute' | 'manage' | 'delete_workspace';

/**
 * DESIGN.md: viewer reads; operator also starts and controls executions; admin also manages
 * strategies, members and tokens; owner also deletes the workspace. Each role includes the
 * one below it.
 */
const GRANTS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  operator: ['read', 'execute'],
  admin: ['read', 'execute', 'manage'],
  owner: ['read', 'execute', 'manage', 'delete_workspace'],
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** The caller's role in the workspace, or null when they may not act there at all. */
export async function workspaceRole(
  db: Db,
  principal: Pick<Principal, 'user' | 'tokenWorkspaceId'>,
  workspaceId: string,
): Promise<Role | null> {
  if (principal.tokenWorkspaceId !== null && principal.tokenWorkspaceId !== workspaceId) return null;
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, principal.user.id)));
  return row?.role ?? null;
}
