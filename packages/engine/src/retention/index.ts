export { pruneExecutionEvents } from './events.ts';
export { type Maintenance, type PruneOutcome, type PruneTask, runDueMaintenance, startMaintenance } from './scheduler.ts';
export { IDEMPOTENCY_KEY_HOURS, pruneIdempotencyKeys, pruneRateLimitWindows, RATE_LIMIT_WINDOW_KEEP_MINUTES } from './windows.ts';
