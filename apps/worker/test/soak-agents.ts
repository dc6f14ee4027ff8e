/**
 * The soak's agents, loaded into real worker processes through STRATA_AGENT_MODULES. Each
 * task's input carries its plan (how long to work, when to fail, whether to wait), drawn from
 * the soak's seed; every run that ends is logged with its own start and end time, so the soak
 * can tell whether two runs of one task ever overlapped.
 */
import { type AgentContext, type AgentRegistry, NonRetryableError } from '@strata/engine';
import postgres from 'postgres';

export interface SoakPlan {
  /** Work time of each run. */
  delayMs: number;
  /** Runs with retryCount below this fail (retryable). */
  failRetries?: number;
  /** Fails without retry. */
  fatal?: boolean;
  /** Waits durably this long once, then runs again and succeeds. */
  waitMs?: number;
  /** Reports progress before working. */
  progress?: boolean;
}

/** The run log; the soak creates it before starting workers. */
export const RUNS_TABLE_SQL = `create table if not exists soak_runs (
  task_id text not null, attempt int not null, pid int not null,
  started_ms float8 not null, ended_ms float8 not null, outcome text not null)`;

const now = () => performance.timeOrigin + performance.now();

export function register(registry: AgentRegistry): void {
  // Its own connections, named so the soak's connection kills spare the log.
  const sql = postgres(process.env.DATABASE_URL!, { max: 2, onnotice: () => {}, connection: { application_name: 'strata-soak-log' } });
  const log = async (row: { taskId: string; attempt: number; startedMs: number; endedMs: number; outcome: string }) => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await sql`insert into soak_runs (task_id, attempt, pid, started_ms, ended_ms, outcome)
          values (${row.taskId}, ${row.attempt}, ${process.pid}, ${row.startedMs}, ${row.endedMs}, ${row.outcome})`;
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  };
  const run = async ({ task, signal, wait, progress }: AgentContext) => {
    const plan = task.input.plan as SoakPlan;
    const startedMs = now();
    let outcome = 'fail';
    try {
      if (plan.progress) await progress({ step: 'started', attempt: task.attempt });
      await sleep(plan.delayMs, signal);
      if (plan.fatal) throw new NonRetryableError('planned fatal failure');
      if (task.retryCount < (plan.failRetries ?? 0)) throw new Error(`planned failure ${task.retryCount + 1} of ${plan.failRetries}`);
      if (plan.waitMs && !task.resumedFromWait) {
        outcome = 'wait';
        wait(new Date(Date.now() + plan.waitMs));
      }
      outcome = 'ok';
      return { key: task.key, attempt: task.attempt, pid: process.pid };
    } catch (error) {
      if (signal.aborted) outcome = 'aborted';
      throw error;
    } finally {
      await log({ taskId: task.id, attempt: task.attempt, startedMs, endedMs: now(), outcome });
    }
  };
  for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) registry.register(type, run);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
