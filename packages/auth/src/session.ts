import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { type Db, sessions, users } from '@strata/db';
import { eq, lte } from 'drizzle-orm';
import { type AuthUser, authUserColumns } from './user.ts';

/**
 * Lucia's session design (lucia-auth.com/sessions), as `sv add lucia` writes it: the client
 * holds a random token, the database holds only its SHA-256, so a leaked sessions table
 * cannot be replayed.
 */
export const SESSION_COOKIE_NAME = 'strata_session';

const DAY_MS = 24 * 60 * 60 * 1000;
export const SESSION_LIFETIME_MS = 30 * DAY_MS;
/** An active session is pushed back to a full lifetime once less than this is left. */
const RENEW_WITHIN_MS = 15 * DAY_MS;

export type Session = typeof sessions.$inferSelect;
export type SessionValidationResult = { session: Session; user: AuthUser } | { session: null; user: null };

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export function sessionIdFromToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export async function createSession(db: Db, token: string, userId: string): Promise<Session> {
  const [session] = await db
    .insert(sessions)
    .values({ id: sessionIdFromToken(token), userId, expiresAt: new Date(Date.now() + SESSION_LIFETIME_MS) })
    .returning();
  return session!;
}

export async function validateSessionToken(db: Db, token: string): Promise<SessionValidationResult> {
  const sessionId = sessionIdFromToken(token);
  const [row] = await db
    .select({ session: sessions, user: authUserColumns })
    .from(sessions)
    .innerJoin(users, eq(sessions.userId, users.id))
    .where(eq(sessions.id, sessionId));
  if (!row) return { session: null, user: null };
  const { session, user } = row;

  const now = Date.now();
  if (now >= session.expiresAt.getTime()) {
    await db.delete(sessions).where(eq(sessions.id, session.id));
    return { session: null, user: null };
  }
  if (now >= session.expiresAt.getTime() - RENEW_WITHIN_MS) {
    session.expiresAt = new Date(now + SESSION_LIFETIME_MS);
    await db.update(sessions).set({ expiresAt: session.expiresAt }).where(eq(sessions.id, session.id));
  }
  return { session, user };
}

export async function invalidateSession(db: Db, sessionId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.id, sessionId));
}

export async function invalidateUserSessions(db: Db, userId: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.userId, userId));
}

/** Removes sessions that expired by `now` (validation already refuses them; this keeps the table small). Returns how many. */
export async function pruneExpiredSessions(db: Db, now: Date): Promise<number> {
  const gone = await db.delete(sessions).where(lte(sessions.expiresAt, now)).returning({ id: sessions.id });
  return gone.length;
}
