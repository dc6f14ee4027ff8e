import { pruneExpiredSessions, pruneLoginFailures } from '@strata/auth';
import type { Db } from '@strata/db';
import { pruneExecutionEvents, pruneIdempotencyKeys, pruneRateLimitWindows, type PruneTask, pruneWebhookDeliveries } from '@strata/engine';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Every table retention keeps small, each a named task on its own schedule (the prune functions
 * live with the tables' owners: the engine and auth). One worker runs each task per period
 * (runDueMaintenance). A new table to prune is one more entry here.
 */
export function retentionTasks(db: Db, options: { retentionDays: number }): PruneTask[] {
  return [
    // Finished executions' event logs, all but the final event, after RETENTION_DAYS (0: kept forever).
    { name: 'execution events', everyMs: HOUR, prune: (now) => pruneExecutionEvents(db, { retentionDays: options.retentionDays, now }) },
    { name: 'expired sessions', everyMs: HOUR, prune: (now) => pruneExpiredSessions(db, now) },
    { name: 'idempotency keys', everyMs: HOUR, prune: (now) => pruneIdempotencyKeys(db, now) },
    { name: 'rate-limit windows', everyMs: 5 * MINUTE, prune: (now) => pruneRateLimitWindows(db, now) },
    { name: 'login throttle rows', everyMs: 15 * MINUTE, prune: (now) => pruneLoginFailures(db, now) },
    // Finished webhook deliveries (a pending one still retries, for 24 h at most), after RETENTION_DAYS (0: kept forever).
    ...(options.retentionDays > 0
      ? [{ name: 'webhook deliveries', everyMs: HOUR, prune: (now: Date) => pruneWebhookDeliveries(db, new Date(now.getTime() - options.retentionDays * DAY)) }]
      : []),
  ];
}
