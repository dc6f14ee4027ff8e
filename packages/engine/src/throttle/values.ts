import { z } from 'zod';

/** The largest limits accepted anywhere (workspace, strategy, key): beyond them a limit limits nothing. */
const LOAD_LIMITS = { concurrency: 10_000, perMinute: 100_000 } as const;

const limitValue = (max: number) =>
  z
    .number({ error: 'must be a positive integer' })
    .int('must be a positive integer')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max.toLocaleString('en-US')}`);

/** A positive concurrency cap, as every surface takes it. */
export const concurrencyValue = limitValue(LOAD_LIMITS.concurrency);
/** A positive per-minute cap, as every surface takes it. */
export const perMinuteValue = limitValue(LOAD_LIMITS.perMinute);
