import { createHash } from 'node:crypto';
import { idempotencyKeys, type Db } from '@strata/db';
import { TRPCError } from '@trpc/server';
import { and, eq, gt, sql } from 'drizzle-orm';

const WINDOW_HOURS = 24;

export function requestHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Runs `start` once per (user, Idempotency-Key) within 24 h: a repeat returns the first
 * execution's id instead of starting another. A key reused with a different request is a 409;
 * a repeat that arrives while the first is still starting waits for it.
 */
export async function once(db: Db, userId: string, key: string, hash: string, start: () => Promise<string>): Promise<{ executionId: string; replayed: boolean }> {
  if (key.length === 0 || key.length > 255) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Idempotency-Key must be 1 to 255 characters' });
  await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), sql`${idempotencyKeys.createdAt} < now() - interval '${sql.raw(String(WINDOW_HOURS))} hours'`));
  const claimed = await db.insert(idempotencyKeys).values({ userId, key, requestHash: hash }).onConflictDoNothing().returning();
  if (claimed.length === 0) {
    for (let i = 0; i < 100; i++) {
      const [existing] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), gt(idempotencyKeys.createdAt, sql`now() - interval '${sql.raw(String(WINDOW_HOURS))} hours'`)));
      if (!existing) break;
      if (existing.requestHash !== hash) throw new TRPCError({ code: 'CONFLICT', message: 'Idempotency-Key was already used with a different request' });
      if (existing.executionId) return { executionId: existing.executionId, replayed: true };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new TRPCError({ code: 'CONFLICT', message: 'A request with this Idempotency-Key is still in progress' });
  }
  try {
    const executionId = await start();
    await db.update(idempotencyKeys).set({ executionId }).where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
    return { executionId, replayed: false };
  } catch (error) {
    await db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
    throw error;
  }
}
