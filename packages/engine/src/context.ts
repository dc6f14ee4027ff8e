import type { Db } from '@strata/db';
import type { TaskQueue } from './queue.ts';

export interface RetryPolicy {
  /** First backoff; each further retry doubles it. */
  baseMs: number;
  /** Cap on one backoff. */
  maxMs: number;
}

/** What engine operations need: the database and the queue that reaches the workers. */
export interface EngineContext {
  db: Db;
  queue: TaskQueue;
  retry: RetryPolicy;
  /** The rolling window of `perMinute` limits: 60 s unless a test shortens it (throttle/admit.ts). */
  limitWindowMs?: number;
  /**
   * Child executions (the `strategy` agent): how deep they may nest (STRATEGY_MAX_DEPTH; default
   * 5) and how often a task waiting for one looks at it on its own (default 600 s; the child's end
   * wakes it at once anyway).
   */
  children?: { maxDepth?: number; pollSeconds?: number };
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 60_000 };

/** Backoff before retry number `retry` (1-based): base × 2^(retry-1), capped. */
export function backoffMs(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
}
