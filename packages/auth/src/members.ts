import { type Db, memberships, type Role, users } from '@strata/db';
import { and, asc, eq } from 'drizzle-orm';
import { AuthError } from './errors.ts';
import { roleAllows } from './roles.ts';
import { lockWorkspaceMemberships, type Tx } from './workspaces.ts';

/**
 * Members of a workspace, and the changes admins make to them. The rules: admins (and owners)
 * manage members; only an owner makes, demotes or removes an owner; anyone may leave; a
 * workspace always keeps at least one owner. Each change runs under the workspace's membership
 * lock and re-reads the acting member's role there, so a check cannot go stale before it acts.
 */
export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: Role;
  joinedAt: Date;
}

export const LAST_OWNER_MESSAGE = 'The last owner cannot leave, be removed or be demoted; make another member an owner first';

const memberColumns = { userId: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt };

export async function listMembers(db: Db, workspaceId: string): Promise<Member[]> {
  return db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, workspaceId))
    .orderBy(asc(memberships.createdAt), asc(users.email));
}

async function memberIn(tx: Tx, workspaceId: string, userId: string): Promise<Member | undefined> {
  const [row] = await tx
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
  return row;
}

async function ownerCount(tx: Tx, workspaceId: string): Promise<number> {
  const rows = await tx
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')));
  return rows.length;
}

/** Test-only: runs after a change's checks, just before it writes (to hold a change mid-flight). */
export interface MemberChangeHooks {
  beforeWrite?: () => Promise<void>;
}

interface MemberChange {
  workspaceId: string;
  /** Who acts; their role is read again under the lock. */
  actorId: string;
  userId: string;
}

/**
 * The acting and the target member under the lock, with the permission checks every change
 * shares: the actor must still be a member (and an admin, unless acting on themselves), and
 * only an owner may touch an owner.
 */
async function lockedChange(tx: Tx, change: MemberChange) {
  if (!(await lockWorkspaceMemberships(tx, change.workspaceId))) throw new AuthError('FORBIDDEN', 'Access denied');
  const actor = await memberIn(tx, change.workspaceId, change.actorId);
  if (!actor) throw new AuthError('FORBIDDEN', 'Access denied');
  const self = change.userId === change.actorId;
  if (!self && !roleAllows(actor.role, 'manage')) throw new AuthError('FORBIDDEN', 'Access denied');
  const target = self ? actor : await memberIn(tx, change.workspaceId, change.userId);
  if (!target) throw new AuthError('NOT_FOUND', 'Member not found');
  if (target.role === 'owner' && actor.role !== 'owner') throw new AuthError('FORBIDDEN', 'Access denied: only an owner can change or remove an owner');
  return { actor, target };
}

/** Changes a member's role. Admins may change their own role downwards, never to owner. */
export async function changeMemberRole(db: Db, change: MemberChange & { role: Role }, hooks: MemberChangeHooks = {}): Promise<Member> {
  return db.transaction(async (tx) => {
    const { actor, target } = await lockedChange(tx, change);
    if (!roleAllows(actor.role, 'manage')) throw new AuthError('FORBIDDEN', 'Access denied');
    if (change.role === 'owner' && actor.role !== 'owner') throw new AuthError('FORBIDDEN', 'Access denied: only an owner can make an owner');
    if (target.role === 'owner' && change.role !== 'owner' && (await ownerCount(tx, change.workspaceId)) <= 1) {
      throw new AuthError('CONFLICT', LAST_OWNER_MESSAGE);
    }
    await hooks.beforeWrite?.();
    await tx
      .update(memberships)
      .set({ role: change.role })
      .where(and(eq(memberships.workspaceId, change.workspaceId), eq(memberships.userId, change.userId)));
    return { ...target, role: change.role };
  });
}

/** Removes a member, or lets a member leave (userId = actorId). */
export async function removeMember(db: Db, change: MemberChange, hooks: MemberChangeHooks = {}): Promise<void> {
  await db.transaction(async (tx) => {
    const { target } = await lockedChange(tx, change);
    if (target.role === 'owner' && (await ownerCount(tx, change.workspaceId)) <= 1) throw new AuthError('CONFLICT', LAST_OWNER_MESSAGE);
    await hooks.beforeWrite?.();
    await tx.delete(memberships).where(and(eq(memberships.workspaceId, change.workspaceId), eq(memberships.userId, change.userId)));
  });
}
