import { createHash } from 'node:crypto';
import { idempotencyKeys, type Db } from '@strata/db';
import type { StartExecutionInput } from '@strata/engine';
import { TRPCError } from '@trpc/server';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';

const WINDOW_HOURS = 24;
/** How many times a request re-reads a key another request claimed at the same moment. */
const CLAIM_ROUNDS = 3;

/** Writes the key inside start's own transaction (see `StartExecutionInput.withinStart`). */
export type ClaimKey = NonNullable<StartExecutionInput['withinStart']>;

export function requestHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/** Thrown inside start's transaction when another request holds the key: rolls that start back. */
class KeyTaken extends Error {}

const windowStart = sql`now() - interval '${sql.raw(String(WINDOW_HOURS))} hours'`;

/**
 * Runs `start` once per (user, Idempotency-Key) within 24 h: a repeat returns the first
 * execution's id instead of starting another; a key reused with a different request is a 409.
 *
 * The key is written in the same transaction that creates the execution (`start` passes
 * `claimKey` to the engine), so a key exists exactly when its execution does: a lost COMMIT
 * acknowledgement followed by the client's retry finds the key and returns the first execution,
 * and a start that fails leaves no key. Two requests racing with one key: the second's insert
 * waits on the first's transaction, finds the key taken, rolls its own start back and returns
 * the first's execution. A key with an execution is never deleted before its window ends.
 */
export async function once(db: Db, userId: string, key: string, hash: string, start: (claimKey: ClaimKey) => Promise<string>): Promise<{ executionId: string; replayed: boolean }> {
  if (key.length === 0 || key.length > 255) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Idempotency-Key must be 1 to 255 characters' });
  const thisKey = and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key));
  await db.delete(idempotencyKeys).where(and(thisKey, lt(idempotencyKeys.createdAt, windowStart)));
  const claimKey: ClaimKey = async (tx, executionId) => {
    const claimed = await tx.insert(idempotencyKeys).values({ userId, key, requestHash: hash, executionId }).onConflictDoNothing().returning({ key: idempotencyKeys.key });
    if (claimed.length === 0) throw new KeyTaken();
  };
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const [existing] = await db.select().from(idempotencyKeys).where(and(thisKey, gt(idempotencyKeys.createdAt, windowStart)));
    if (existing) {
      if (existing.requestHash !== hash) throw new TRPCError({ code: 'CONFLICT', message: 'Idempotency-Key was already used with a different request' });
      if (existing.executionId) return { executionId: existing.executionId, replayed: true };
      // A key without an execution is a leftover of an older version that claimed keys first.
      await db.delete(idempotencyKeys).where(and(thisKey, isNull(idempotencyKeys.executionId)));
    }
    try {
      return { executionId: await start(claimKey), replayed: false };
    } catch (error) {
      if (!(error instanceof KeyTaken)) throw error;
    }
  }
  throw new TRPCError({ code: 'CONFLICT', message: 'A request with this Idempotency-Key is still in progress' });
}
