import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';

/**
 * Removes webhook deliveries made before `olderThan` that are over (succeeded or failed); a
 * pending one still has attempts to make and stays. Returns how many were removed. The
 * retention job calls it on its schedule.
 */
export async function pruneWebhookDeliveries(db: Db, olderThan: Date): Promise<number> {
  const [row] = await db.execute<{ n: number }>(sql`
    with removed as (delete from webhook_deliveries where created_at < ${olderThan.toISOString()}::timestamptz and status <> 'pending' returning 1)
    select count(*)::int as n from removed`);
  return row?.n ?? 0;
}
