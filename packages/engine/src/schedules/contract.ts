/**
 * Schedules as the API shows them, defined once: the OpenAPI document, the typed REST client and
 * the dashboard read these. Imported by the browser (`@strata/engine/schedule-contract`): zod and
 * the enum lists only, never the database.
 */
import { SCHEDULE_RUN_STATUSES } from '@strata/db/enums';
import { z } from 'zod';

export { SCHEDULE_RUN_STATUSES, type ScheduleRunStatus } from '@strata/db/enums';

export const SCHEDULE_LIMITS = {
  /** Enabled schedules a workspace may have at once. */
  enabledPerWorkspace: 100,
  /** Ticks missed while nothing ran that are recorded one by one (the latest ones) when the schedule catches up. */
  missedRecorded: 100,
  /** Ticks kept per schedule (`GET /api/schedules/:id/runs`); older ones are pruned as new ones are written. */
  runsKept: 500,
  /** A one-off `runAt` may be this far in the past (clock skew, a form's minute precision): it fires at once. */
  runAtGraceMs: 60_000,
} as const;

export const scheduleViewSchema = z.object({
  id: z.string(),
  workspaceId: z.string(),
  strategyId: z.string(),
  strategyName: z.string(),
  cron: z.string().nullable().meta({ description: 'Five-field cron expression (null for a one-off)' }),
  runAt: z.string().nullable().meta({ description: 'The one-off time (null for a cron schedule)' }),
  timezone: z.string().meta({ description: 'IANA time zone the cron expression is read in' }),
  input: z.record(z.string(), z.unknown()).meta({ description: "Parameters each execution starts with, valid against the strategy's inputSchema" }),
  enabled: z.boolean(),
  nextRunAt: z.string().nullable().meta({ description: 'The next tick; null when disabled or when a one-off has run' }),
  lastRunAt: z.string().nullable().meta({ description: 'The tick that last started an execution' }),
  lastExecutionId: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const scheduleRunViewSchema = z.object({
  tickAt: z.string(),
  status: z.enum(SCHEDULE_RUN_STATUSES).meta({ description: 'started: it started `executionId`; missed: it fell while nothing ran; failed: its start was refused (`error` says why)' }),
  executionId: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});

/** Dates as ISO strings: what REST answers and the dashboard reads (tRPC carries Dates). */
export type ScheduleView = z.infer<typeof scheduleViewSchema>;
export type ScheduleRunView = z.infer<typeof scheduleRunViewSchema>;
