import type { Principal } from '@strata/auth';
import { memberships, newId, type Role, type Db, users, workspaces } from '@strata/db';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { TRPCError } from '@trpc/server';

/** Workspaces and their members: the caller of create becomes its owner. */
export async function createWorkspace(db: Db, ownerId: string, name: string) {
  const id = newId('ws');
  return db.transaction(async (tx) => {
    const [workspace] = await tx.insert(workspaces).values({ id, name }).returning();
    await tx.insert(memberships).values({ workspaceId: id, userId: ownerId, role: 'owner' });
    return { id: workspace!.id, name: workspace!.name, createdAt: workspace!.createdAt, role: 'owner' as Role };
  });
}

/** Adds (or changes the role of) an existing user. Only an owner may make, or change, an owner. */
export async function addMember(db: Db, input: { workspaceId: string; email: string; role: Role; actingRole: Role }) {
  if (input.role === 'owner' && input.actingRole !== 'owner') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Access denied: only an owner can add an owner' });
  }
  const [user] = await db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(eq(sql`lower(${users.email})`, input.email.trim().toLowerCase()));
  if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `User not found: ${input.email}` });
  // Nor may anyone but an owner change an owner's role: the condition sits in the upsert itself,
  // so no row comes back when a non-owner targets an existing owner.
  const written = await db
    .insert(memberships)
    .values({ workspaceId: input.workspaceId, userId: user.id, role: input.role })
    .onConflictDoUpdate({
      target: [memberships.workspaceId, memberships.userId],
      set: { role: input.role },
      ...(input.actingRole === 'owner' ? {} : { setWhere: ne(memberships.role, 'owner') }),
    })
    .returning({ role: memberships.role });
  if (written.length === 0) throw new TRPCError({ code: 'FORBIDDEN', message: 'Access denied: only an owner can change an owner' });
  return { workspaceId: input.workspaceId, user, role: input.role };
}

/** The workspaces a principal can see; a workspace-bound token sees only its own. */
export async function listMemberships(db: Db, principal: Principal) {
  const rows = await db
    .select({ id: workspaces.id, name: workspaces.name, role: memberships.role })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(and(eq(memberships.userId, principal.user.id), principal.tokenWorkspaceId ? eq(workspaces.id, principal.tokenWorkspaceId) : undefined))
    .orderBy(asc(workspaces.createdAt), asc(workspaces.id));
  return rows;
}
