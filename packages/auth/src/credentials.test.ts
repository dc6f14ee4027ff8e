import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from './credentials.ts';
import { createSession, generateSessionToken, invalidateSession } from './session.ts';
import { insertUser, insertWorkspace } from './testing.ts';
import { createApiToken, revokeApiToken } from './tokens.ts';
import type { AuthUser } from './user.ts';

let t: TestDatabase;
let user: AuthUser;
let sessionToken: string;
let sessionId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  user = await insertUser(t.db);
  sessionToken = generateSessionToken();
  sessionId = (await createSession(t.db, sessionToken, user.id)).id;
});
afterAll(async () => {
  await t?.drop();
});

describe('authenticate', () => {
  it('resolves a session token from the cookie', async () => {
    const principal = await authenticate(t.db, { cookie: `a=1; strata_session=${sessionToken}` });
    expect(principal).toMatchObject({ user, kind: 'session', sessionId, tokenWorkspaceId: null });
    expect(principal?.sessionExpiresAt).toBeInstanceOf(Date);
  });

  it('resolves a session token sent as Bearer', async () => {
    const principal = await authenticate(t.db, { authorization: `Bearer ${sessionToken}` });
    expect(principal).toMatchObject({ user, kind: 'session', sessionId, tokenWorkspaceId: null });
  });

  it('resolves an API token sent as Bearer, with its workspace binding', async () => {
    const ws = await insertWorkspace(t.db, [{ userId: user.id, role: 'viewer' }]);
    const created = await createApiToken(t.db, { userId: user.id, name: 'ci', workspaceId: ws });
    const principal = await authenticate(t.db, { authorization: `bearer ${created.token}` });
    expect(principal).toEqual({ user, kind: 'token', tokenId: created.id, tokenWorkspaceId: ws });
    expect(principal).not.toHaveProperty('sessionId');
  });

  it('answers null without credentials', async () => {
    expect(await authenticate(t.db, {})).toBeNull();
    expect(await authenticate(t.db, { authorization: null, cookie: null })).toBeNull();
    expect(await authenticate(t.db, { cookie: 'theme=dark' })).toBeNull();
  });

  it('answers null for unknown or malformed bearer credentials', async () => {
    expect(await authenticate(t.db, { authorization: 'Bearer strata_unknown' })).toBeNull();
    expect(await authenticate(t.db, { authorization: `Bearer ${generateSessionToken()}` })).toBeNull();
    expect(await authenticate(t.db, { authorization: 'Bearer' })).toBeNull();
    expect(await authenticate(t.db, { authorization: 'Bearer a b' })).toBeNull();
  });

  it('does not fall back to the cookie when the Bearer header is bad', async () => {
    const principal = await authenticate(t.db, {
      authorization: 'Bearer strata_unknown',
      cookie: `strata_session=${sessionToken}`,
    });
    expect(principal).toBeNull();
  });

  it('ignores a non-Bearer Authorization header', async () => {
    const principal = await authenticate(t.db, { authorization: 'Basic dXNlcjpwYXNz', cookie: `strata_session=${sessionToken}` });
    expect(principal?.kind).toBe('session');
  });

  it('refuses a revoked API token', async () => {
    const created = await createApiToken(t.db, { userId: user.id, name: 'gone' });
    await revokeApiToken(t.db, { userId: user.id, tokenId: created.id });
    expect(await authenticate(t.db, { authorization: `Bearer ${created.token}` })).toBeNull();
  });

  it('refuses an invalidated session', async () => {
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    await invalidateSession(t.db, session.id);
    expect(await authenticate(t.db, { cookie: `strata_session=${token}` })).toBeNull();
  });
});
