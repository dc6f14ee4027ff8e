import type { Db } from '@strata/db';
import { processMetrics } from '@strata/metrics';
import { sql } from 'drizzle-orm';

export type RateBucket = 'start' | 'status' | 'control';

export interface RateLimits {
  start: number;
  status: number;
  control: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

const WINDOW_SECONDS = 60;

/**
 * A fixed one-minute window per workspace and bucket, counted in PostgreSQL so every web
 * process shares it. The increment only happens while under the limit: refused requests do
 * not count. A limit of 0 turns the bucket off.
 */
export async function takeRateLimit(db: Db, workspaceId: string, bucket: RateBucket, limit: number): Promise<RateDecision> {
  if (limit <= 0) return { allowed: true, limit: 0, remaining: 0, resetSeconds: 0 };
  const rows = await db.execute<{ count: number; reset: number }>(sql`
    with w as (select to_timestamp(floor(extract(epoch from now()) / ${WINDOW_SECONDS}) * ${WINDOW_SECONDS}) as start)
    insert into rate_limits (workspace_id, bucket, window_start, count)
    select ${workspaceId}, ${bucket}, w.start, 1 from w
    on conflict (workspace_id, bucket, window_start)
      do update set count = rate_limits.count + 1 where rate_limits.count < ${limit}
    returning count, ceil(extract(epoch from window_start + interval '${sql.raw(String(WINDOW_SECONDS))} seconds' - now()))::int as reset`);
  const row = rows[0];
  if (row) return { allowed: true, limit, remaining: Math.max(0, limit - row.count), resetSeconds: Math.max(1, row.reset) };
  processMetrics().rateLimitRefusals.inc({ bucket });
  const [reset] = await db.execute<{ reset: number }>(sql`
    select ceil(${WINDOW_SECONDS} - mod(extract(epoch from now())::numeric, ${WINDOW_SECONDS}))::int as reset`);
  return { allowed: false, limit, remaining: 0, resetSeconds: Math.max(1, reset?.reset ?? WINDOW_SECONDS) };
}

// Old windows are removed by the worker's retention (pruneRateLimitWindows in @strata/engine).

export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  if (decision.limit === 0) return {};
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) headers['Retry-After'] = String(decision.resetSeconds);
  return headers;
}
