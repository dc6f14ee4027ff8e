import type { Logger } from '@strata/config';
import { sql } from 'drizzle-orm';
import type { EngineContext } from '../context.ts';
import { EngineError } from '../errors.ts';
import { hookPoint } from '../hooks.ts';
import { startExecution } from '../lifecycle.ts';
import { postgresErrorOf, transaction, type Tx } from '../tx.ts';
import { SCHEDULE_LIMITS } from './contract.ts';
import { cronSchedule } from './cron.ts';

/**
 * The ticker: starts each due tick of each enabled schedule exactly once, whatever the number of
 * processes running it. A tick is claimed by the transaction that starts its execution
 * (`withinStart`): it locks the schedule row (SKIP LOCKED: another process has it), checks the
 * row still waits for that tick, writes the tick's schedule_runs row (primary key schedule+tick:
 * a second start of the same tick fails and rolls back) and moves nextRunAt on. The start and
 * the claim commit together or not at all, so a process dying mid-way loses no tick and doubles
 * none; the database is the only state, so a restart carries on where it stopped.
 */

/** Thrown inside a start whose tick another process took (or a change moved): the start rolls back. */
class TickTaken extends Error {}

type DueRow = {
  id: string;
  workspace_id: string;
  strategy_id: string;
  cron: string | null;
  timezone: string;
  input: Record<string, unknown>;
  next_run_at: Date;
  /** next_run_at exactly as stored (microseconds too), for the claim's comparison. */
  due: string;
  created_by: string | null;
};

/** What one due schedule's tick came to. */
export type TickOutcome =
  | { scheduleId: string; tickAt: Date; status: 'started'; executionId: string; missed: number }
  | { scheduleId: string; tickAt: Date; status: 'failed'; error: string; missed: number }
  | { scheduleId: string; tickAt: Date; status: 'taken' }
  | { scheduleId: string; tickAt: Date; status: 'error'; error: unknown };

/** The tick a due schedule runs now, the earlier ones it missed (bounded, latest first) and its next tick. */
type Plan = { tickAt: Date; missed: Date[]; missedMore: boolean; next: Date | null };

/**
 * From the tick a schedule waits for (`due`) up to `now`: ticks missed while nothing ran are
 * recorded as missed and only the latest runs, once. A one-off has just its time and no next.
 */
function planTick(row: DueRow, now: Date): Plan {
  const due = row.next_run_at;
  if (row.cron === null) return { tickAt: due, missed: [], missedMore: false, next: null };
  const cron = cronSchedule(row.cron, row.timezone);
  const next = cron.next(now);
  // The usual case: nothing was missed (the tick after the due one is still to come).
  const following = cron.next(due);
  if (!following || following.getTime() > now.getTime()) return { tickAt: due, missed: [], missedMore: false, next };
  const max = SCHEDULE_LIMITS.missedRecorded;
  // Latest first; one more than is recorded tells whether earlier ones are left out.
  const ticks = cron.previous(now, max + 2).filter((tick) => tick.getTime() >= due.getTime());
  const [latest = due, ...earlier] = ticks;
  return { tickAt: latest, missed: earlier.slice(0, max), missedMore: earlier.length > max, next };
}

const iso = (date: Date) => date.toISOString();

/**
 * Locks the schedule if it still waits for the tick `due`; false when another process holds it
 * or has moved it on (or a change did). Then writes the tick's run, the missed ones, moves the
 * schedule on and prunes its oldest runs.
 */
async function claimTick(
  tx: Tx,
  row: DueRow,
  plan: Plan,
  run: { status: 'started'; executionId: string } | { status: 'failed'; error: string },
): Promise<boolean> {
  const locked = await tx.execute(sql`
    select id from schedules where id = ${row.id} and enabled and next_run_at = ${row.due}::timestamptz for update skip locked`);
  if (locked.length === 0) return false;
  const executionId = run.status === 'started' ? run.executionId : null;
  const error = run.status === 'failed' ? run.error : null;
  // The primary key: a tick already recorded (by anyone) fails here and the whole start rolls back.
  await tx.execute(sql`
    insert into schedule_runs (schedule_id, tick_at, status, execution_id, error)
    values (${row.id}, ${iso(plan.tickAt)}::timestamptz, ${run.status}, ${executionId}, ${error})`);
  if (plan.missed.length > 0) {
    const oldest = plan.missed.length - 1;
    const rows = plan.missed.map((tick, i) => ({
      tick: iso(tick),
      error: i === oldest && plan.missedMore ? `Earlier ticks since ${iso(row.next_run_at)} were missed too (only the latest ${SCHEDULE_LIMITS.missedRecorded} are listed)` : null,
    }));
    await tx.execute(sql`
      insert into schedule_runs (schedule_id, tick_at, status, error)
      select ${row.id}, m.tick, 'missed', m.error from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as m(tick timestamptz, error text)
      on conflict do nothing`);
  }
  await tx.execute(sql`
    update schedules set
      next_run_at = ${plan.next ? iso(plan.next) : null}::timestamptz,
      enabled = enabled and ${row.cron !== null},
      last_run_at = case when ${run.status} = 'started' then ${iso(plan.tickAt)}::timestamptz else last_run_at end,
      last_execution_id = coalesce(${executionId}, last_execution_id),
      updated_at = now()
    where id = ${row.id}`);
  await tx.execute(sql`
    delete from schedule_runs where schedule_id = ${row.id} and tick_at < (
      select tick_at from schedule_runs where schedule_id = ${row.id} order by tick_at desc offset ${SCHEDULE_LIMITS.runsKept - 1} limit 1)`);
  await hookPoint('schedules:tick-claimed', { scheduleId: row.id, tickAt: plan.tickAt, status: run.status });
  return true;
}

/** Starts (or records the refusal of) one due schedule's tick. */
async function fire(ctx: EngineContext, row: DueRow, now: Date): Promise<TickOutcome> {
  const base = { scheduleId: row.id, tickAt: row.next_run_at };
  let plan: Plan;
  try {
    plan = planTick(row, now);
  } catch (error) {
    // A stored expression the cron library no longer reads (after an upgrade): the tick fails, the schedule stops.
    plan = { tickAt: row.next_run_at, missed: [], missedMore: false, next: null };
    return recordFailure(ctx, row, plan, `Cannot read cron "${row.cron}": ${(error as Error).message}`);
  }
  await hookPoint('schedules:before-start', { scheduleId: row.id, tickAt: plan.tickAt });
  try {
    const execution = await startExecution(ctx, {
      strategyId: row.strategy_id,
      workspaceId: row.workspace_id,
      input: row.input,
      trigger: 'schedule',
      scheduleId: row.id,
      ...(row.created_by ? { createdBy: row.created_by } : {}),
      withinStart: async (tx, executionId) => {
        if (!(await claimTick(tx, row, plan, { status: 'started', executionId }))) throw new TickTaken();
      },
    });
    return { ...base, tickAt: plan.tickAt, status: 'started', executionId: execution.id, missed: plan.missed.length };
  } catch (error) {
    if (error instanceof TickTaken) return { ...base, status: 'taken' };
    // The strategy was archived or deleted, or the input no longer fits its latest inputSchema.
    if (error instanceof EngineError) return recordFailure(ctx, row, plan, error.message);
    // This tick is already recorded: a one-off armed again with the time it already ran at.
    if (postgresErrorOf(error)?.code === '23505') return recordFailure(ctx, row, { ...plan, missed: [] }, null);
    return { ...base, status: 'error', error };
  }
}

/** Records a refused tick as failed (with `reason`), or with null just moves the schedule past a tick already recorded. */
async function recordFailure(ctx: EngineContext, row: DueRow, plan: Plan, reason: string | null): Promise<TickOutcome> {
  const base = { scheduleId: row.id, tickAt: plan.tickAt };
  try {
    await transaction(ctx.db, async (tx) => {
      if (reason === null) {
        const moved = await tx.execute(sql`
          update schedules set next_run_at = ${plan.next ? iso(plan.next) : null}::timestamptz, enabled = enabled and ${row.cron !== null}, updated_at = now()
          where id = ${row.id} and next_run_at = ${row.due}::timestamptz returning id`);
        if (moved.length === 0) throw new TickTaken();
        return;
      }
      if (!(await claimTick(tx, row, plan, { status: 'failed', error: reason }))) throw new TickTaken();
    });
  } catch (error) {
    if (error instanceof TickTaken || postgresErrorOf(error)?.code === '23505') return { ...base, status: 'taken' };
    return { ...base, status: 'error', error };
  }
  return reason === null ? { ...base, status: 'taken' } : { ...base, status: 'failed', error: reason, missed: plan.missed.length };
}

/** Due schedules fetched per pass: the rest wait for the next pass, which follows at once. */
const BATCH = 100;

/**
 * Starts every tick due at `now` (`enabled and next_run_at <= now`), oldest first. Safe to run
 * in any number of processes at once: each tick starts once.
 */
export async function runDueSchedules(ctx: EngineContext, now: Date = new Date()): Promise<TickOutcome[]> {
  const due = await ctx.db.execute<DueRow>(sql`
    select id, workspace_id, strategy_id, cron, timezone, input, next_run_at, next_run_at::text as due, created_by from schedules
    where enabled and next_run_at <= ${iso(now)}::timestamptz order by next_run_at, id limit ${BATCH}`);
  const outcomes: TickOutcome[] = [];
  for (const row of due) outcomes.push(await fire(ctx, { ...row, next_run_at: new Date(row.next_run_at) }, now));
  return outcomes;
}

/** When the earliest enabled schedule is due, or undefined when none is. */
async function nextDueAt(ctx: EngineContext): Promise<Date | undefined> {
  const [row] = await ctx.db.execute<{ at: Date | null }>(sql`select min(next_run_at) as at from schedules where enabled and next_run_at is not null`);
  return row?.at ? new Date(row.at) : undefined;
}

export interface ScheduleTickerOptions {
  ctx: EngineContext;
  logger: Logger;
  /** The time the ticker judges dueness by (tests pass a controlled clock). */
  clock?: () => Date;
  /** The longest it sleeps between passes: a schedule created or changed elsewhere is seen within this. Default 1 s. */
  pollMs?: number;
}

export interface ScheduleTicker {
  /** Finishes the pass under way and stops. */
  stop(): Promise<void>;
}

/**
 * Runs `runDueSchedules` in a loop that wakes at the next due time or after `pollMs`, whichever
 * comes first. A pass that fails (the database is away) is logged and tried again on the next.
 */
export function startScheduleTicker(options: ScheduleTickerOptions): ScheduleTicker {
  const { ctx, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const pollMs = options.pollMs ?? 1000;
  let stopping = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      let full = false;
      try {
        const outcomes = await runDueSchedules(ctx, clock());
        // A full batch that moved something on: more may be due at once. One whose ticks other processes hold waits like any other.
        full = outcomes.length >= BATCH && outcomes.some((o) => o.status === 'started' || o.status === 'failed');
        for (const outcome of outcomes) {
          if (outcome.status === 'error') logger.warn({ err: outcome.error, scheduleId: outcome.scheduleId }, 'schedule tick could not start; retrying');
          else if (outcome.status === 'failed') logger.info({ scheduleId: outcome.scheduleId, tickAt: outcome.tickAt, error: outcome.error }, 'schedule tick refused');
          else if (outcome.status === 'started') logger.debug({ scheduleId: outcome.scheduleId, executionId: outcome.executionId, missed: outcome.missed }, 'schedule tick started');
        }
      } catch (error) {
        logger.warn({ err: error }, 'schedule pass failed; retrying');
      }
      if (full || stopping) continue;
      let waitMs = pollMs;
      try {
        // A tick still due after the pass is another process's, or failing: the poll interval, not a spin.
        const next = await nextDueAt(ctx);
        const ahead = next ? next.getTime() - clock().getTime() : 0;
        if (ahead > 0) waitMs = Math.min(pollMs, ahead);
      } catch {
        // The pass after the poll interval says what is wrong.
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}
