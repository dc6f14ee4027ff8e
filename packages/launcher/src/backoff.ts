export interface BackoffPolicy {
  /** The wait before the first restart. */
  initialMs: number;
  /** The longest wait, however often the app crashed. */
  maxMs: number;
  /** An app that stayed up this long before it died counts as healthy again: the wait starts over. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/**
 * Exponential restart backoff for one app, as process managers do it: 0.5 s, 1 s, 2 s, ...
 * up to 30 s between restarts of an app that keeps crashing, back to 0.5 s once it has run for
 * a minute.
 */
export class Backoff {
  private attempt = 0;
  private readonly policy: BackoffPolicy;
  constructor(policy: BackoffPolicy) {
    this.policy = policy;
  }

  /** The wait before restarting an app that ran for `upMs` before it died; counts the attempt. */
  next(upMs: number): { delayMs: number; attempt: number } {
    if (upMs >= this.policy.resetAfterMs) this.attempt = 0;
    const delayMs = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.attempt);
    this.attempt += 1;
    return { delayMs, attempt: this.attempt };
  }
}
