import { type Db, memberships, newId, type Role, workspaces } from '@strata/db';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Principal } from './credentials.ts';

/** A transaction handle, as drizzle passes it to `db.transaction`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Creates a workspace; its creator becomes its owner. */
export async function createWorkspace(db: Db, ownerId: string, name: string) {
  const id = newId('ws');
  return db.transaction(async (tx) => {
    const [workspace] = await tx.insert(workspaces).values({ id, name }).returning();
    await tx.insert(memberships).values({ workspaceId: id, userId: ownerId, role: 'owner' });
    return { id: workspace!.id, name: workspace!.name, createdAt: workspace!.createdAt, role: 'owner' as Role };
  });
}

/** The workspaces a principal can see; a workspace-bound token sees only its own. */
export async function listMemberships(db: Db, principal: Principal) {
  return db
    .select({ id: workspaces.id, name: workspaces.name, role: memberships.role })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, principal.user.id), principal.tokenWorkspaceId ? eq(workspaces.id, principal.tokenWorkspaceId) : undefined))
    .orderBy(asc(workspaces.createdAt), asc(workspaces.id));
}

/**
 * Serialises every membership change of one workspace: whoever changes who is an owner holds
 * the workspace row (FOR NO KEY UPDATE, which does not block inserts that merely reference the
 * workspace). One row, always the same, so two owners demoting or removing each other at once
 * cannot deadlock, and the second one sees the first one's result. Answers whether the
 * workspace exists.
 */
export async function lockWorkspaceMemberships(tx: Tx, workspaceId: string): Promise<boolean> {
  const rows = await tx.execute(sql`select 1 from ${workspaces} where ${workspaces.id} = ${workspaceId} for no key update`);
  return rows.length > 0;
}
