import type { Logger } from '@strata/config';
import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';
import { hookPoint } from '../hooks.ts';

/** One named clean-up that runs on its own schedule: `prune` removes what has expired at `now` and says how many rows. */
export interface PruneTask {
  name: string;
  /** How often it runs, across every worker together. */
  everyMs: number;
  prune(now: Date): Promise<number>;
}

export type PruneOutcome = { name: string; status: 'pruned'; removed: number } | { name: string; status: 'failed'; error: unknown };

/**
 * Claims a task's period: true when this caller may run it now. The claim is one conditional
 * UPDATE of the task's `maintenance_runs` row (created on first use): of workers claiming at
 * once, the row lock lets one through and the rest re-read the row, find it already moved on,
 * and claim nothing. So each task runs once per period whatever the number of workers.
 */
async function claim(db: Db, task: PruneTask, now: Date): Promise<string | null> {
  const at = now.toISOString();
  await db.execute(sql`insert into maintenance_runs (name, last_run_at) values (${task.name}, '-infinity') on conflict do nothing`);
  const [row] = await db.execute<{ previous: string }>(sql`
    update maintenance_runs m set last_run_at = ${at}::timestamptz
    from (select name, last_run_at from maintenance_runs where name = ${task.name} for update) p
    where m.name = p.name and p.last_run_at <= ${at}::timestamptz - ${task.everyMs} * interval '1 millisecond'
    returning p.last_run_at::text as previous`);
  return row ? row.previous : null;
}

/** Gives a failed run's period back, so the next pass (here or on another worker) tries again. */
async function release(db: Db, task: PruneTask, now: Date, previous: string): Promise<void> {
  await db.execute(sql`update maintenance_runs set last_run_at = ${previous}::timestamptz where name = ${task.name} and last_run_at = ${now.toISOString()}::timestamptz`);
}

/** Runs every task whose period has passed at `now` and that no other worker claimed first. */
export async function runDueMaintenance(db: Db, tasks: readonly PruneTask[], now: Date = new Date()): Promise<PruneOutcome[]> {
  const outcomes: PruneOutcome[] = [];
  for (const task of tasks) {
    const previous = await claim(db, task, now);
    if (previous === null) continue;
    // A test holds a claimed run here to show that another worker's pass then claims nothing.
    await hookPoint('maintenance:claimed', { name: task.name });
    try {
      outcomes.push({ name: task.name, status: 'pruned', removed: await task.prune(now) });
    } catch (error) {
      await release(db, task, now, previous).catch(() => {});
      outcomes.push({ name: task.name, status: 'failed', error });
    }
  }
  return outcomes;
}

export interface Maintenance {
  stop(): Promise<void>;
}

/** Runs `runDueMaintenance` every `pollMs` (default 60 s) until stopped; failures are logged and retried on a later pass. */
export function startMaintenance(options: { db: Db; tasks: readonly PruneTask[]; logger: Logger; pollMs?: number; clock?: () => Date }): Maintenance {
  const { db, tasks, logger } = options;
  const clock = options.clock ?? (() => new Date());
  let running: Promise<void> | undefined;
  const pass = async () => {
    try {
      for (const outcome of await runDueMaintenance(db, tasks, clock())) {
        if (outcome.status === 'failed') logger.warn({ err: outcome.error, task: outcome.name }, 'retention: prune failed; retrying later');
        else if (outcome.removed > 0) logger.info({ task: outcome.name, removed: outcome.removed }, 'retention: pruned');
      }
    } catch (error) {
      logger.warn({ err: error }, 'retention pass failed; retrying later');
    }
  };
  const tick = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(tick, options.pollMs ?? 60_000);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
