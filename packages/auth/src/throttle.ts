import { type Db, loginFailures } from '@strata/db';
import { and, desc, eq, gt, inArray, lte, or, sql } from 'drizzle-orm';
import { addressBlock } from './address-block.ts';
import { AuthError } from './errors.ts';

/**
 * Login throttling, kept in PostgreSQL so it holds across any number of web processes. Every
 * failed login (and every wrong current password on a password change) leaves one row per
 * key: `account:<lower-cased email>` and `client:<address>` (an IPv6 client by its /64). A key with `limit` failures inside
 * the window is refused before any password is verified (argon2 is the costly part), with
 * Retry-After saying when enough of them will have left the window.
 */
export interface LoginThrottleSettings {
  /** Failures per account within the window (default 10). */
  accountLimit: number;
  /** Failures per client address within the window (default 50): one address spraying many accounts. */
  clientLimit: number;
  windowMs: number;
  /** The clock; tests move it instead of sleeping. */
  now: () => Date;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleSettings = {
  accountLimit: 10,
  clientLimit: 50,
  windowMs: 15 * 60 * 1000,
  now: () => new Date(),
};

export const THROTTLED_MESSAGE = 'Too many failed logins; try again later';

/** At most this many expired rows are deleted by one failure: pruning stays cheap and bounded. */
const PRUNE_BATCH = 200;

export const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`;
/** IPv6 clients count by their /64 (see addressBlock). */
export const clientKey = (address: string) => `client:${addressBlock(address)}`;

export interface ThrottleSubject {
  /** The email the attempt names (lower-cased here). */
  email: string;
  /** The caller's address, when known. */
  clientAddress?: string | null;
}

/** One attempt's place in the throttle: held from before the password is checked until it is judged. */
export interface LoginAttempt {
  /** The password was right: the attempt leaves no failure, and the account's earlier failures are forgiven. */
  succeeded(): Promise<void>;
  /** The password was wrong: the attempt stays counted as a failure. */
  failed(): Promise<void>;
}

/**
 * Takes a place for one attempt, or throws RATE_LIMITED. The attempt is recorded as a failure
 * first and counted after, so concurrent attempts (a tRPC batch, parallel requests, several web
 * processes) cannot all pass a count taken before any of them failed: of attempts racing past
 * the limit, every one that counts after the limit-th is refused.
 */
export async function beginLoginAttempt(db: Db, subject: ThrottleSubject, settings: LoginThrottleSettings = DEFAULT_LOGIN_THROTTLE): Promise<LoginAttempt> {
  const now = settings.now();
  const limits = new Map<string, number>([[accountKey(subject.email), settings.accountLimit]]);
  if (subject.clientAddress) limits.set(clientKey(subject.clientAddress), settings.clientLimit);
  const keys = [...limits.keys()];
  const cutoff = new Date(now.getTime() - settings.windowMs);

  const mine = await db
    .insert(loginFailures)
    .values(keys.map((key) => ({ key, failedAt: now })))
    .returning({ id: loginFailures.id });
  const ids = mine.map((row) => row.id);
  const counts = await db
    .select({ key: loginFailures.key, count: sql<number>`count(*)::int` })
    .from(loginFailures)
    .where(and(inArray(loginFailures.key, keys), gt(loginFailures.failedAt, cutoff)))
    .groupBy(loginFailures.key);
  const over = counts.filter((row) => row.count > limits.get(row.key)!);
  if (over.length > 0) {
    // A refused attempt is not a failure: it neither counts nor pushes the window further out.
    await db.delete(loginFailures).where(inArray(loginFailures.id, ids));
    const waits = await Promise.all(over.map((row) => secondsUntilBelowLimit(db, row.key, limits.get(row.key)!, now, settings.windowMs)));
    throw new AuthError('RATE_LIMITED', THROTTLED_MESSAGE, { retryAfterSeconds: Math.max(...waits) });
  }

  return {
    async succeeded() {
      // Only reached below the limit: forgiving the account's failures then lets its owner recover
      // from typos, and never lets an attacker past a lock. The client's count is kept (an
      // attacker could otherwise reset it by logging into an account of their own).
      const account = keys[0]!;
      await db.delete(loginFailures).where(or(inArray(loginFailures.id, ids), eq(loginFailures.key, account)));
    },
    async failed() {
      await pruneExpired(db, cutoff);
    },
  };
}

/**
 * Seconds until fewer than `limit` failures of the key are in the window: the limit-th newest
 * one must leave it. At least 1.
 */
async function secondsUntilBelowLimit(db: Db, key: string, limit: number, now: Date, windowMs: number): Promise<number> {
  const [row] = await db
    .select({ failedAt: loginFailures.failedAt })
    .from(loginFailures)
    .where(and(eq(loginFailures.key, key), gt(loginFailures.failedAt, new Date(now.getTime() - windowMs))))
    .orderBy(desc(loginFailures.failedAt))
    .offset(limit - 1)
    .limit(1);
  if (!row) return 1;
  return Math.max(1, Math.ceil((row.failedAt.getTime() + windowMs - now.getTime()) / 1000));
}

/** Deletes a bounded batch of rows that have left the window (index on failed_at). */
async function pruneExpired(db: Db, cutoff: Date): Promise<void> {
  const expired = db.select({ id: loginFailures.id }).from(loginFailures).where(lte(loginFailures.failedAt, cutoff)).limit(PRUNE_BATCH);
  await db.delete(loginFailures).where(inArray(loginFailures.id, expired));
}

/**
 * Removes every failed-login row that has left the window at `now` (failures also prune a bounded
 * batch as they arrive; this clears what a quiet period leaves). Returns how many.
 */
export async function pruneLoginFailures(db: Db, now: Date, windowMs: number = DEFAULT_LOGIN_THROTTLE.windowMs): Promise<number> {
  const gone = await db.delete(loginFailures).where(lte(loginFailures.failedAt, new Date(now.getTime() - windowMs))).returning({ id: loginFailures.id });
  return gone.length;
}
