/** When a failed webhook delivery is tried again. */
export interface WebhookRetryPolicy {
  /** The first retry's delay; each further one doubles it. */
  baseMs: number;
  /** Cap on one delay. */
  maxMs: number;
  /** No attempt later than this long after the delivery was made: it fails instead. */
  windowMs: number;
}

/**
 * 30 s, 1, 2, 4, 8, 16, 32, 64 and 128 min, then every 4 h while within 24 h of the event: up to
 * 14 attempts, the last about 20 h after the first.
 */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { baseMs: 30_000, maxMs: 4 * 3_600_000, windowMs: 24 * 3_600_000 };

/** A test's fast schedule (STRATA_TEST_WEBHOOK_RETRY_MS): the same shape, base `ms`, capped at 4×. */
export const testWebhookRetry = (ms: number): WebhookRetryPolicy => ({ baseMs: ms, maxMs: 4 * ms, windowMs: DEFAULT_WEBHOOK_RETRY.windowMs });

/**
 * When attempt `failedAttempts + 1` is due after `failedAttempts` failures, the last at `now`;
 * undefined when it would fall outside the window (the delivery has failed for good).
 */
export function nextAttemptAt(policy: WebhookRetryPolicy, failedAttempts: number, createdAt: Date, now: Date): Date | undefined {
  const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failedAttempts - 1));
  const due = now.getTime() + delay;
  return due - createdAt.getTime() > policy.windowMs ? undefined : new Date(due);
}
