import { ROLES, type Role } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from './credentials.ts';
import { type Permission, roleAllows, workspaceRole } from './roles.ts';
import { createSession, generateSessionToken } from './session.ts';
import { insertUser, insertWorkspace } from './testing.ts';
import { createApiToken } from './tokens.ts';

const MATRIX: Record<Role, Record<Permission, boolean>> = {
  viewer: { read: true, execute: false, manage: false, delete_workspace: false },
  operator: { read: true, execute: true, manage: false, delete_workspace: false },
  admin: { read: true, execute: true, manage: true, delete_workspace: false },
  owner: { read: true, execute: true, manage: true, delete_workspace: true },
};

describe('roleAllows', () => {
  const cases = ROLES.flatMap((role) =>
    (Object.keys(MATRIX[role]) as Permission[]).map((permission) => [role, permission, MATRIX[role][permission]] as const),
  );
  it('covers every role and permission', () => {
    expect(cases).toHaveLength(16);
  });
  it.each(cases)('%s may %s: %s', (role, permission, allowed) => {
    expect(roleAllows(role, permission)).toBe(allowed);
  });
});

describe('workspaceRole', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function sessionPrincipal(userId: string) {
    const token = generateSessionToken();
    await createSession(t.db, token, userId);
    return (await authenticate(t.db, { cookie: `strata_session=${token}` }))!;
  }

  async function tokenPrincipal(userId: string, workspaceId?: string) {
    const { token } = await createApiToken(t.db, { userId, name: 't', workspaceId: workspaceId ?? null });
    return (await authenticate(t.db, { authorization: `Bearer ${token}` }))!;
  }

  it.each(ROLES)("answers a member's role: %s", async (role) => {
    const user = await insertUser(t.db);
    const ws = await insertWorkspace(t.db, [{ userId: user.id, role }]);
    expect(await workspaceRole(t.db, await sessionPrincipal(user.id), ws)).toBe(role);
  });

  it('answers null for a non-member', async () => {
    const [member, stranger] = [await insertUser(t.db), await insertUser(t.db)];
    const ws = await insertWorkspace(t.db, [{ userId: member.id, role: 'owner' }]);
    expect(await workspaceRole(t.db, await sessionPrincipal(stranger.id), ws)).toBeNull();
    expect(await workspaceRole(t.db, await tokenPrincipal(stranger.id), ws)).toBeNull();
  });

  it('answers null for a token bound to a different workspace', async () => {
    const user = await insertUser(t.db);
    const bound = await insertWorkspace(t.db, [{ userId: user.id, role: 'admin' }]);
    const elsewhere = await insertWorkspace(t.db, [{ userId: user.id, role: 'owner' }]);
    const principal = await tokenPrincipal(user.id, bound);
    expect(await workspaceRole(t.db, principal, bound)).toBe('admin');
    expect(await workspaceRole(t.db, principal, elsewhere)).toBeNull();
  });

  it("gives an unbound token its owner's role in every workspace", async () => {
    const user = await insertUser(t.db);
    const a = await insertWorkspace(t.db, [{ userId: user.id, role: 'viewer' }]);
    const b = await insertWorkspace(t.db, [{ userId: user.id, role: 'operator' }]);
    const principal = await tokenPrincipal(user.id);
    expect(await workspaceRole(t.db, principal, a)).toBe('viewer');
    expect(await workspaceRole(t.db, principal, b)).toBe('operator');
  });
});
