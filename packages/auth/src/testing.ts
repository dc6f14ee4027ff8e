import { type Db, memberships, newId, type Role, users, workspaces } from '@strata/db';
import { expect } from 'vitest';
import { AuthError } from './errors.ts';
import type { AuthUser } from './user.ts';

/**
 * Test-only fixtures that skip argon2 (each hash costs ~50 ms), for tests that are not
 * about passwords.
 */
export async function insertUser(db: Db, email = `${newId('usr')}@example.com`): Promise<AuthUser> {
  const id = newId('usr');
  await db.insert(users).values({ id, email, name: null, passwordHash: 'unused' });
  return { id, email, name: null };
}

export async function insertWorkspace(db: Db, members: { userId: string; role: Role }[] = []): Promise<string> {
  const id = newId('ws');
  await db.insert(workspaces).values({ id, name: 'Test workspace' });
  if (members.length) await db.insert(memberships).values(members.map((m) => ({ workspaceId: id, ...m })));
  return id;
}

/** The AuthError a promise rejects with (the test fails if it resolves or throws anything else). */
export async function authError(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}
