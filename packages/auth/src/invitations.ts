import { type Db, type InvitationStatus, invitations, memberships, newId, type Role, users, workspaces } from '@strata/db';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { emailSchema } from './email.ts';
import { AuthError } from './errors.ts';
import type { AuthUser } from './user.ts';

/**
 * Membership by invitation. Inviting an email answers the same whether or not it has an
 * account (nothing about any account is revealed), and nobody becomes a member without
 * accepting. The invitee finds their invitations by their account's email once logged in.
 */
export const INVITATION_LIFETIME_MS = 14 * 24 * 60 * 60 * 1000;

/** What the inviting side sees of an invitation. */
export interface Invitation {
  id: string;
  workspaceId: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  expiresAt: Date;
}

/** What the invitee sees: where to, as what, from whom. */
export interface ReceivedInvitation extends Invitation {
  workspace: { id: string; name: string };
  invitedBy: { name: string | null; email: string } | null;
  createdAt: Date;
}

const invitationColumns = {
  id: invitations.id,
  workspaceId: invitations.workspaceId,
  email: invitations.email,
  role: invitations.role,
  status: invitations.status,
  expiresAt: invitations.expiresAt,
};

const inviteSchema = z.object({ email: emailSchema });

export interface InviteInput {
  workspaceId: string;
  email: string;
  role: Role;
  /** The inviter's role in the workspace (checked by the caller for 'manage'). */
  actingRole: Role;
  invitedBy: string;
  now?: Date;
}

/**
 * Invites an email into a workspace. Only an owner may invite an owner. A second invitation to
 * an email with one pending updates its role (and renews it) instead of failing.
 */
export async function inviteMember(db: Db, input: InviteInput): Promise<Invitation> {
  const parsed = inviteSchema.safeParse({ email: input.email });
  if (!parsed.success) throw new AuthError('VALIDATION', `email: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  if (input.role === 'owner' && input.actingRole !== 'owner') throw new AuthError('FORBIDDEN', 'Access denied: only an owner can invite an owner');
  const now = input.now ?? new Date();
  const expiresAt = new Date(now.getTime() + INVITATION_LIFETIME_MS);
  // The partial unique index `invitations_pending_unique` (one pending invitation per workspace
  // and email) is the arbiter; drizzle cannot name an expression as a conflict target, hence SQL.
  const rows = await db.execute<{ id: string }>(sql`
    insert into ${invitations} (id, workspace_id, email, role, invited_by, created_at, expires_at)
    values (${newId('inv')}, ${input.workspaceId}, ${parsed.data.email}, ${input.role}, ${input.invitedBy}, ${now.toISOString()}::timestamptz, ${expiresAt.toISOString()}::timestamptz)
    on conflict (workspace_id, lower(email)) where status = 'pending'
    do update set role = excluded.role, invited_by = excluded.invited_by, expires_at = excluded.expires_at
    returning id`);
  const [row] = await db.select(invitationColumns).from(invitations).where(eq(invitations.id, rows[0]!.id));
  return row!;
}

/** A workspace's pending, unexpired invitations, for its admins. */
export async function listPendingInvitations(db: Db, workspaceId: string, now = new Date()): Promise<(Invitation & { createdAt: Date })[]> {
  return db
    .select({ ...invitationColumns, createdAt: invitations.createdAt })
    .from(invitations)
    .where(and(eq(invitations.workspaceId, workspaceId), eq(invitations.status, 'pending'), gt(invitations.expiresAt, now)))
    .orderBy(asc(invitations.createdAt), asc(invitations.id));
}

const inviter = alias(users, 'inviter');

/** The user's pending, unexpired invitations, matched by their account's email. */
export async function listReceivedInvitations(db: Db, user: AuthUser, now = new Date()): Promise<ReceivedInvitation[]> {
  const rows = await db
    .select({
      ...invitationColumns,
      createdAt: invitations.createdAt,
      workspaceName: workspaces.name,
      inviterName: inviter.name,
      inviterEmail: inviter.email,
    })
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .leftJoin(inviter, eq(inviter.id, invitations.invitedBy))
    .where(and(sql`lower(${invitations.email}) = ${user.email.toLowerCase()}`, eq(invitations.status, 'pending'), gt(invitations.expiresAt, now)))
    .orderBy(asc(invitations.createdAt), asc(invitations.id));
  return rows.map(({ workspaceName, inviterName, inviterEmail, ...invitation }) => ({
    ...invitation,
    workspace: { id: invitation.workspaceId, name: workspaceName },
    invitedBy: inviterEmail ? { name: inviterName, email: inviterEmail } : null,
  }));
}

export interface Response {
  invitationId: string;
  user: AuthUser;
  now?: Date;
}

/**
 * Accepts or declines an invitation, for its invitee only (anyone else: NOT_FOUND, so ids
 * cannot be probed). One already answered, revoked or expired: CONFLICT. Accepting makes the
 * membership in the same transaction; someone already a member keeps the role they have.
 */
export async function respondToInvitation(db: Db, response: Response & { accept: boolean }) {
  const now = response.now ?? new Date();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ ...invitationColumns, workspaceName: workspaces.name })
      .from(invitations)
      .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
      .where(eq(invitations.id, response.invitationId))
      .for('update', { of: invitations });
    if (!row || row.email.toLowerCase() !== response.user.email.toLowerCase()) throw new AuthError('NOT_FOUND', 'Invitation not found');
    if (row.status !== 'pending') throw new AuthError('CONFLICT', `Invitation already ${row.status}`);
    if (row.expiresAt.getTime() <= now.getTime()) throw new AuthError('CONFLICT', 'Invitation has expired');
    const status: InvitationStatus = response.accept ? 'accepted' : 'declined';
    await tx.update(invitations).set({ status, respondedAt: now }).where(eq(invitations.id, row.id));
    const { workspaceName, ...invitation } = row;
    if (!response.accept) return { invitation: { ...invitation, status } };
    await tx.insert(memberships).values({ workspaceId: row.workspaceId, userId: response.user.id, role: row.role }).onConflictDoNothing();
    const [member] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.workspaceId, row.workspaceId), eq(memberships.userId, response.user.id)));
    return { invitation: { ...invitation, status }, workspace: { id: row.workspaceId, name: workspaceName, role: member!.role } };
  });
}

/** Revokes a pending invitation of the workspace. Only an owner may revoke an owner's invitation. */
export async function revokeInvitation(db: Db, input: { workspaceId: string; invitationId: string; actingRole: Role; now?: Date }): Promise<Invitation> {
  const [row] = await db
    .select(invitationColumns)
    .from(invitations)
    .where(and(eq(invitations.id, input.invitationId), eq(invitations.workspaceId, input.workspaceId)));
  if (!row) throw new AuthError('NOT_FOUND', 'Invitation not found');
  if (row.role === 'owner' && input.actingRole !== 'owner') throw new AuthError('FORBIDDEN', 'Access denied: only an owner can revoke an owner invitation');
  const [revoked] = await db
    .update(invitations)
    .set({ status: 'revoked', respondedAt: input.now ?? new Date() })
    .where(and(eq(invitations.id, row.id), eq(invitations.status, 'pending')))
    .returning(invitationColumns);
  if (!revoked) throw new AuthError('CONFLICT', 'Invitation is no longer pending');
  return revoked;
}
