import { type Db, newId, scheduleRuns, schedules, strategies, strategyVersions } from '@strata/db';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { conflict, notFound, validationError } from '../errors.ts';
import { checkExecutionInput } from '../strategy/input-schema.ts';
import { findStrategy } from '../strategy/read.ts';
import { hookPoint } from '../hooks.ts';
import { transaction, type Tx } from '../tx.ts';
import { SCHEDULE_LIMITS } from './contract.ts';
import { checkTimezone, cronSchedule } from './cron.ts';

/** A schedule as the engine returns it (REST writes its dates as ISO strings: contract.ts). */
export interface Schedule {
  id: string;
  workspaceId: string;
  strategyId: string;
  strategyName: string;
  cron: string | null;
  runAt: Date | null;
  timezone: string;
  input: Record<string, unknown>;
  enabled: boolean;
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastExecutionId: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ScheduleRun {
  tickAt: Date;
  status: (typeof scheduleRuns.$inferSelect)['status'];
  executionId: string | null;
  error: string | null;
  createdAt: Date;
}

/** When a schedule runs: exactly one of a cron expression and a one-off time. */
export interface ScheduleTiming {
  cron?: string | undefined;
  /** ISO 8601 with an offset (`2026-12-05T09:00:00Z`), or a Date. */
  runAt?: string | Date | undefined;
  timezone?: string | undefined;
}

export interface CreateScheduleInput extends ScheduleTiming {
  workspaceId: string;
  strategyId: string;
  input?: Record<string, unknown> | undefined;
  enabled?: boolean | undefined;
  createdBy?: string | undefined;
}

export interface UpdateScheduleInput extends ScheduleTiming {
  input?: Record<string, unknown> | undefined;
  enabled?: boolean | undefined;
}

/** Orders the limit's count against other creates and enables in the same workspace (the second key is the workspace's hash). */
const LIMIT_LOCK_CLASS = 0x5343;

type Timing = { cron: string | null; runAt: Date | null; timezone: string };

/**
 * Checks a schedule's timing and says when it next runs after `now` (enabled): the first tick of
 * its cron expression, or its one-off time. Refusals are VALIDATION errors naming the field.
 */
function resolveTiming(timing: Timing, now: Date): { timing: Timing; next: Date | null } {
  const timezone = checkTimezone(timing.timezone);
  if ((timing.cron === null) === (timing.runAt === null)) {
    throw validationError('cron: give exactly one of cron (a five-field expression) and runAt (a one-off ISO 8601 time)', { path: 'cron' });
  }
  if (timing.cron !== null) {
    const cron = timing.cron.trim().replace(/\s+/g, ' ');
    return { timing: { cron, runAt: null, timezone }, next: cronSchedule(cron, timezone).next(now) };
  }
  return { timing: { cron: null, runAt: timing.runAt, timezone }, next: timing.runAt };
}

function parseRunAt(runAt: string | Date): Date {
  const date = runAt instanceof Date ? runAt : new Date(runAt);
  if (Number.isNaN(date.getTime())) throw validationError('runAt: must be an ISO 8601 date-time with an offset, such as 2026-12-05T09:00:00Z', { path: 'runAt' });
  return date;
}

/** An enabled one-off must lie ahead (within a minute's grace, when it fires at once). */
function checkRunAtAhead(runAt: Date | null, now: Date): void {
  if (runAt && runAt.getTime() < now.getTime() - SCHEDULE_LIMITS.runAtGraceMs) {
    throw validationError(`runAt: ${runAt.toISOString()} is in the past; give a time to come`, { path: 'runAt' });
  }
}

/** The strategy a schedule starts: in the workspace, not archived; its latest inputSchema checks `input`. */
async function checkStrategy(db: Db | Tx, workspaceId: string, strategyId: string, input: Record<string, unknown> | undefined): Promise<void> {
  const strategy = await findStrategy(db as Db, strategyId);
  if (!strategy || strategy.workspaceId !== workspaceId) throw notFound(`Strategy not found: ${strategyId}`);
  if (strategy.archivedAt) throw conflict(`Strategy ${strategyId} is archived: it cannot be scheduled`);
  if (input === undefined) return;
  const [latest] = await db
    .select({ inputSchema: strategyVersions.inputSchema })
    .from(strategyVersions)
    .where(and(eq(strategyVersions.strategyId, strategyId), eq(strategyVersions.version, strategy.version)));
  checkExecutionInput(latest?.inputSchema ?? null, input);
}

/** Refuses one more enabled schedule past the workspace's limit; the lock holds until the caller's transaction ends. */
async function checkEnabledLimit(tx: Tx, workspaceId: string, excludeId?: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LIMIT_LOCK_CLASS}, hashtext(${workspaceId}))`);
  const [row] = await tx.execute<{ n: number }>(sql`
    select count(*)::int as n from schedules where workspace_id = ${workspaceId} and enabled and id is distinct from ${excludeId ?? null}`);
  const limit = SCHEDULE_LIMITS.enabledPerWorkspace;
  if ((row?.n ?? 0) >= limit) {
    throw conflict(`This workspace already has ${limit} enabled schedules, the most it may have: disable or delete one first`, { limit });
  }
}

const scheduleColumns = {
  id: schedules.id,
  workspaceId: schedules.workspaceId,
  strategyId: schedules.strategyId,
  strategyName: strategies.name,
  cron: schedules.cron,
  runAt: schedules.runAt,
  timezone: schedules.timezone,
  input: schedules.input,
  enabled: schedules.enabled,
  nextRunAt: schedules.nextRunAt,
  lastRunAt: schedules.lastRunAt,
  lastExecutionId: schedules.lastExecutionId,
  createdBy: schedules.createdBy,
  createdAt: schedules.createdAt,
  updatedAt: schedules.updatedAt,
};

async function readSchedule(db: Db | Tx, id: string): Promise<Schedule> {
  const [row] = await db.select(scheduleColumns).from(schedules).innerJoin(strategies, eq(strategies.id, schedules.strategyId)).where(eq(schedules.id, id));
  if (!row) throw notFound('Schedule not found');
  return row;
}

/**
 * Creates a schedule: exactly one of `cron` (five fields, read in `timezone`, default UTC) and
 * `runAt`; `input` valid against the strategy's latest inputSchema; at most 100 enabled per
 * workspace (counted under a lock, so two creates at the edge cannot both pass).
 */
export async function createSchedule(db: Db, input: CreateScheduleInput, now = new Date()): Promise<Schedule> {
  const enabled = input.enabled ?? true;
  const runAt = input.runAt === undefined ? null : parseRunAt(input.runAt);
  const { timing, next } = resolveTiming({ cron: input.cron ?? null, runAt, timezone: input.timezone ?? 'UTC' }, now);
  if (enabled) checkRunAtAhead(timing.runAt, now);
  await checkStrategy(db, input.workspaceId, input.strategyId, input.input ?? {});
  const id = newId('sched');
  await transaction(db, async (tx) => {
    if (enabled) await checkEnabledLimit(tx, input.workspaceId);
    await hookPoint('schedules:limit-checked', { workspaceId: input.workspaceId, scheduleId: id });
    await tx.insert(schedules).values({
      id,
      workspaceId: input.workspaceId,
      strategyId: input.strategyId,
      ...timing,
      input: input.input ?? {},
      enabled,
      nextRunAt: enabled ? next : null,
      createdBy: input.createdBy ?? null,
    });
  });
  return readSchedule(db, id);
}

/**
 * Changes any of cron/runAt (giving one replaces the other), timezone, input and enabled. A
 * change of timing or of enabled recomputes nextRunAt from `now`; enabling counts against the limit.
 */
export async function updateSchedule(db: Db, id: string, patch: UpdateScheduleInput, now = new Date()): Promise<Schedule> {
  if (patch.cron !== undefined && patch.runAt !== undefined) {
    throw validationError('cron: give exactly one of cron (a five-field expression) and runAt (a one-off ISO 8601 time)', { path: 'cron' });
  }
  const runAt = patch.runAt === undefined ? undefined : parseRunAt(patch.runAt);
  await transaction(db, async (tx) => {
    const [current] = await tx.select().from(schedules).where(eq(schedules.id, id)).for('update');
    if (!current) throw notFound('Schedule not found');
    const timingChanged = patch.cron !== undefined || runAt !== undefined || patch.timezone !== undefined;
    const { timing, next } = resolveTiming(
      {
        cron: patch.cron ?? (runAt !== undefined ? null : current.cron),
        runAt: runAt ?? (patch.cron !== undefined ? null : current.runAt),
        timezone: patch.timezone ?? current.timezone,
      },
      now,
    );
    const enabled = patch.enabled ?? current.enabled;
    // A one-off asked to run (again) must lie ahead; one left as it was keeps its time.
    if (enabled && (runAt !== undefined || (patch.enabled === true && !current.enabled))) checkRunAtAhead(timing.runAt, now);
    if (enabled || patch.input !== undefined) await checkStrategy(tx, current.workspaceId, current.strategyId, patch.input);
    if (enabled && !current.enabled) await checkEnabledLimit(tx, current.workspaceId, id);
    const recompute = timingChanged || patch.enabled !== undefined;
    await tx
      .update(schedules)
      .set({
        ...timing,
        ...(patch.input !== undefined ? { input: patch.input } : {}),
        enabled,
        ...(recompute ? { nextRunAt: enabled ? next : null } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(schedules.id, id));
  });
  return readSchedule(db, id);
}

/** Deletes a schedule and its ticks; the executions it started stay (their scheduleId still names it). */
export async function deleteSchedule(db: Db, id: string): Promise<void> {
  const deleted = await db.delete(schedules).where(eq(schedules.id, id)).returning({ id: schedules.id });
  if (deleted.length === 0) throw notFound('Schedule not found');
}

/** Which workspace a schedule is in (for access checks), or undefined. */
export async function findSchedule(db: Db, id: string): Promise<{ id: string; workspaceId: string } | undefined> {
  const [row] = await db.select({ id: schedules.id, workspaceId: schedules.workspaceId }).from(schedules).where(eq(schedules.id, id));
  return row;
}

export const getSchedule = (db: Db, id: string): Promise<Schedule> => readSchedule(db, id);

/** A workspace's schedules (one strategy's, with `strategyId`), oldest first. */
export async function listSchedules(db: Db, filter: { workspaceId: string; strategyId?: string | undefined }): Promise<Schedule[]> {
  return db
    .select(scheduleColumns)
    .from(schedules)
    .innerJoin(strategies, eq(strategies.id, schedules.strategyId))
    .where(and(eq(schedules.workspaceId, filter.workspaceId), filter.strategyId ? eq(schedules.strategyId, filter.strategyId) : undefined))
    .orderBy(asc(schedules.createdAt), asc(schedules.id));
}

/** A schedule's latest ticks, newest first. */
export async function listScheduleRuns(db: Db, id: string, limit = 50): Promise<ScheduleRun[]> {
  return db
    .select({ tickAt: scheduleRuns.tickAt, status: scheduleRuns.status, executionId: scheduleRuns.executionId, error: scheduleRuns.error, createdAt: scheduleRuns.createdAt })
    .from(scheduleRuns)
    .where(eq(scheduleRuns.scheduleId, id))
    .orderBy(desc(scheduleRuns.tickAt))
    .limit(limit);
}
