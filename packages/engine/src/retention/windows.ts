import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';

/** An Idempotency-Key answers repeats for 24 h (packages/api/src/idempotency.ts); older ones are dropped. */
export const IDEMPOTENCY_KEY_HOURS = 24;
/** Rate-limit windows are one minute; a window ten minutes old is useless. */
export const RATE_LIMIT_WINDOW_KEEP_MINUTES = 10;

/** Removes Idempotency-Keys older than their 24-hour window. Returns how many. */
export async function pruneIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_KEY_HOURS * 3_600_000).toISOString();
  const rows = await db.execute<{ n: number }>(sql`
    with gone as (delete from idempotency_keys where created_at < ${cutoff}::timestamptz returning 1) select count(*)::int as n from gone`);
  return rows[0]?.n ?? 0;
}

/** Removes the workspace rate-limit windows (rate_limits) that ended long ago. Returns how many. */
export async function pruneRateLimitWindows(db: Db, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - RATE_LIMIT_WINDOW_KEEP_MINUTES * 60_000).toISOString();
  const rows = await db.execute<{ n: number }>(sql`
    with gone as (delete from rate_limits where window_start < ${cutoff}::timestamptz returning 1) select count(*)::int as n from gone`);
  return rows[0]?.n ?? 0;
}
