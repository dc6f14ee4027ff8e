import { z } from 'zod';

/**
 * The date range every analytics read takes: whole days in UTC, both ends included. UTC, not the
 * reader's time zone, so a shared link shows everyone the same numbers; the page says so.
 */
export const ANALYTICS_LIMITS = {
  /** The longest range, in days (a leap year). */
  maxDays: 366,
  /** The range when none is given: the last 30 days, today included. */
  defaultDays: 30,
} as const;

export interface AnalyticsRange {
  /** First day, `YYYY-MM-DD`, included. */
  from: string;
  /** Last day, `YYYY-MM-DD`, included. */
  to: string;
  /** Days in the range: to − from + 1. */
  days: number;
  timezone: 'UTC';
}

const DAY_MS = 86_400_000;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/** Midnight UTC of a `YYYY-MM-DD` day, or undefined when it is not a calendar date (2026-02-30). */
function dayStart(date: string): number | undefined {
  if (!DATE_SHAPE.test(date)) return undefined;
  const ms = Date.parse(`${date}T00:00:00.000Z`);
  return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date ? undefined : ms;
}

export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `days` days ending with the UTC day of `now`: what the presets (7, 30, 90 days) link to. */
export function lastDays(days: number, now: Date = new Date()): AnalyticsRange {
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: isoDay(end - (days - 1) * DAY_MS), to: isoDay(end), days, timezone: 'UTC' };
}

const dayField = z
  .string()
  .refine((value) => DATE_SHAPE.test(value), 'must be a date as YYYY-MM-DD')
  .refine((value) => !DATE_SHAPE.test(value) || dayStart(value) !== undefined, 'is not a calendar date');

/** `from` and `to` as a request carries them (a query string, or the fields of a tRPC input). */
export const analyticsRangeFields = {
  from: dayField.optional().meta({ description: 'First day, YYYY-MM-DD (UTC), included; default: 29 days before `to`' }),
  to: dayField.optional().meta({ description: 'Last day, YYYY-MM-DD (UTC), included; default: today (UTC)' }),
};

/**
 * The range of `from` and `to` (both optional: `to` defaults to today, `from` to 29 days before
 * `to`), for a zod transform: `from` not after `to`, at most 366 days; z.NEVER with the issue
 * pushed otherwise. One rule for every surface.
 */
export function toAnalyticsRange(value: { from?: string | undefined; to?: string | undefined }, ctx: z.RefinementCtx): AnalyticsRange {
  const to = dayStart(value.to ?? lastDays(1).to)!;
  const from = value.from === undefined ? to - (ANALYTICS_LIMITS.defaultDays - 1) * DAY_MS : dayStart(value.from)!;
  const days = Math.round((to - from) / DAY_MS) + 1;
  if (days < 1) {
    // Only a given `from` can pass `to`: a missing one is 29 days before it.
    ctx.addIssue({ code: 'custom', path: ['from'], message: value.to === undefined ? 'must not be after to (today, when to is not given)' : 'must not be after to' });
    return z.NEVER;
  }
  if (days > ANALYTICS_LIMITS.maxDays) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: `the range must be at most ${ANALYTICS_LIMITS.maxDays} days (it is ${days})` });
    return z.NEVER;
  }
  return { from: isoDay(from), to: isoDay(to), days, timezone: 'UTC' };
}

export const analyticsRangeSchema = z.object(analyticsRangeFields).transform(toAnalyticsRange);

/** The range's bounds as instants: [start of from, start of the day after to). */
export function rangeBounds(range: AnalyticsRange): { start: Date; end: Date } {
  const start = dayStart(range.from)!;
  return { start: new Date(start), end: new Date(start + range.days * DAY_MS) };
}
