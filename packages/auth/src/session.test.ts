import { sessions } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSession,
  generateSessionToken,
  invalidateSession,
  invalidateUserSessions,
  SESSION_LIFETIME_MS,
  sessionIdFromToken,
  validateSessionToken,
} from './session.ts';
import { insertUser } from './testing.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function storedSession(id: string) {
  const [row] = await t.db.select().from(sessions).where(eq(sessions.id, id));
  return row;
}

async function setExpiry(id: string, expiresAt: Date) {
  await t.db.update(sessions).set({ expiresAt }).where(eq(sessions.id, id));
}

describe('sessions', () => {
  it('generates 20-byte base32 tokens', () => {
    const token = generateSessionToken();
    expect(token).toMatch(/^[a-z2-7]{32}$/);
    expect(generateSessionToken()).not.toBe(token);
  });

  it('stores only the SHA-256 of the token, with a 30-day expiry', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    expect(session.id).toBe(sessionIdFromToken(token));
    expect(session.id).toMatch(/^[0-9a-f]{64}$/);
    expect(session.id).not.toContain(token);
    expect(Math.abs(session.expiresAt.getTime() - (Date.now() + SESSION_LIFETIME_MS))).toBeLessThan(5000);
    expect(await storedSession(session.id)).toMatchObject({ userId: user.id });
  });

  it('validates a fresh session to its user without touching the expiry', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    const result = await validateSessionToken(t.db, token);
    expect(result.user).toEqual(user);
    expect(result.session?.id).toBe(session.id);
    expect((await storedSession(session.id))?.expiresAt).toEqual(session.expiresAt);
  });

  it('refuses an unknown token', async () => {
    expect(await validateSessionToken(t.db, generateSessionToken())).toEqual({ session: null, user: null });
  });

  it('refuses and deletes an expired session', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    await setExpiry(session.id, new Date(Date.now() - 1000));
    expect(await validateSessionToken(t.db, token)).toEqual({ session: null, user: null });
    expect(await storedSession(session.id)).toBeUndefined();
  });

  it('renews to 30 days when less than 15 days are left', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    await setExpiry(session.id, new Date(Date.now() + 10 * DAY_MS));
    const result = await validateSessionToken(t.db, token);
    const expected = Date.now() + SESSION_LIFETIME_MS;
    expect(Math.abs(result.session!.expiresAt.getTime() - expected)).toBeLessThan(5000);
    expect(Math.abs((await storedSession(session.id))!.expiresAt.getTime() - expected)).toBeLessThan(5000);
  });

  it('leaves the expiry alone while more than 15 days are left', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    const twentyDays = new Date(Date.now() + 20 * DAY_MS);
    await setExpiry(session.id, twentyDays);
    const result = await validateSessionToken(t.db, token);
    expect(result.session?.expiresAt).toEqual(twentyDays);
    expect((await storedSession(session.id))?.expiresAt).toEqual(twentyDays);
  });

  it('refuses an invalidated session', async () => {
    const user = await insertUser(t.db);
    const token = generateSessionToken();
    const session = await createSession(t.db, token, user.id);
    await invalidateSession(t.db, session.id);
    expect(await validateSessionToken(t.db, token)).toEqual({ session: null, user: null });
  });

  it("invalidates all of a user's sessions and no one else's", async () => {
    const [alice, bob] = [await insertUser(t.db), await insertUser(t.db)];
    const aliceTokens = [generateSessionToken(), generateSessionToken()];
    const bobToken = generateSessionToken();
    for (const token of aliceTokens) await createSession(t.db, token, alice.id);
    await createSession(t.db, bobToken, bob.id);
    await invalidateUserSessions(t.db, alice.id);
    for (const token of aliceTokens) expect((await validateSessionToken(t.db, token)).session).toBeNull();
    expect((await validateSessionToken(t.db, bobToken)).user).toEqual(bob);
  });
});
