import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { EngineContext } from '../context.ts';
import { isTerminalStatus } from '../contract.ts';
import { conflict, NonRetryableError, notFound, WaitRequest } from '../errors.ts';
import { appendEvents, type NewEvent } from '../events.ts';
import { lockExecutions, textArray, transaction } from '../tx.ts';
import { type AttemptRef, holdingAttempt } from './attempt.ts';
import { EXTERNAL_WAIT_MAX_HOLD_SECONDS, wakeWaitingTasks } from './wake.ts';

export const SIGNAL_LIMITS = {
  nameMaxChars: 100,
  /** A signal's payload as JSON, in UTF-8 bytes. */
  payloadMaxBytes: 64 * 1024,
  timeoutMaxSeconds: EXTERNAL_WAIT_MAX_HOLD_SECONDS,
} as const;

/** A signal's name: what a waiting task names (`waitForSignal`) and a sender sends. */
export const signalNameSchema = z
  .string()
  .min(1, 'name is required')
  .max(SIGNAL_LIMITS.nameMaxChars, `at most ${SIGNAL_LIMITS.nameMaxChars} characters`)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'only letters, digits and _ . : - are allowed');

/** A signal's payload: any JSON value, at most SIGNAL_LIMITS.payloadMaxBytes as JSON. */
export const signalPayloadSchema = z.unknown().superRefine((value, issue) => {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > SIGNAL_LIMITS.payloadMaxBytes) issue.addIssue({ code: 'custom', message: `too large: ${bytes} bytes as JSON (limit ${SIGNAL_LIMITS.payloadMaxBytes})` });
});

/** A signal as its sender and its waiters see it. */
export type SignalView = {
  id: number;
  executionId: string;
  name: string;
  createdAt: string;
};

/** What a waiting task receives: the first signal of its name. */
export interface SignalDelivery {
  id: number;
  name: string;
  payload: unknown;
  sentAt: string;
}

export interface SendSignalInput {
  executionId: string;
  name: string;
  payload?: unknown;
  /** The user sending it (through a session or an API token). */
  sentBy: string;
}

const isoText = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/**
 * Sends a signal to an execution: kept for the execution's life, so a task that waits for its
 * name later still receives it. Every task waiting for the name now, for which this is the first
 * signal of that name, is told (`task-progress` `{ status: "signal_received", signal }`) and, in a
 * running execution, woken at once; in a paused one it goes on at resume. A finished execution
 * takes no signals (CONFLICT). Answers the signal and how many tasks were waiting for it.
 */
export async function sendSignal(ctx: EngineContext, input: SendSignalInput): Promise<{ signal: SignalView; waiters: number }> {
  return transaction(ctx.db, async (tx) => {
    const locked = await lockExecutions(tx, [input.executionId]);
    const execution = locked.get(input.executionId);
    if (!execution) throw notFound('Execution not found');
    if (isTerminalStatus(execution.status)) throw conflict(`Cannot signal an execution that is ${execution.status}`, { status: execution.status });
    const [signal] = await tx.execute<SignalView>(sql`
      insert into execution_signals (execution_id, name, payload, sent_by)
      values (${input.executionId}, ${input.name}, ${input.payload === undefined ? null : JSON.stringify(input.payload)}::jsonb, ${input.sentBy})
      returning id::float8 as id, execution_id as "executionId", name, ${isoText('created_at')} as "createdAt"`);
    const shown = { status: 'signal_received', signal: input.name };
    const waiters = await tx.execute<{ id: string }>(sql`
      update tasks t set progress = ${JSON.stringify(shown)}::jsonb, updated_at = now()
      from signal_waits w
      where w.task_id = t.id and w.execution_id = ${input.executionId} and w.name = ${input.name}
        and t.status = 'in_progress' and t.wake_at is not null
        and not exists (select 1 from execution_signals s where s.execution_id = w.execution_id and s.name = w.name and s.id < ${signal!.id})
      returning t.id`);
    const events: NewEvent[] = waiters.map((task) => ({ executionId: input.executionId, type: 'task-progress', data: { taskId: task.id, ...shown, progress: shown } }));
    await appendEvents(tx, events);
    if (execution.status === 'running' && waiters.length > 0) {
      await wakeWaitingTasks(
        tx,
        ctx.queue,
        sql`t.id = any(${textArray(waiters.map((w) => w.id))})`,
      );
    }
    return { signal: signal!, waiters: waiters.length };
  });
}

type SignalWaitRow = {
  name: string;
  timeoutAt: string | null;
  expired: boolean;
  holdUntil: string;
  signalId: number | null;
  payload: unknown;
  sentAt: string | null;
};

/**
 * For the agent (`ctx.waitForSignal`): the first signal of `name` sent to the execution, or null
 * once `timeoutSeconds` (counted from the first call; none: no limit) has passed without one.
 * Until then the task waits durably (the WaitRequest thrown here), with `task-progress`
 * `{ status: "waiting_for_signal", signal }`, until a signal wakes it or its deadline does, and
 * the agent runs again. While its execution is paused, a signal or a deadline is held until resume.
 * A signal is not consumed: every task waiting for the name receives the same first signal.
 */
export async function awaitSignal(ctx: EngineContext, task: AttemptRef, name: string, options: { timeoutSeconds?: number | undefined } = {}): Promise<SignalDelivery | null> {
  const { row, paused } = await transaction(ctx.db, async (tx) => {
    const execution = await holdingAttempt(tx, task);
    const [approval] = await tx.execute(sql`select 1 from approvals where task_id = ${task.id}`);
    if (approval) throw new NonRetryableError('A task asks for an approval or waits for a signal, not both');
    const deadline = options.timeoutSeconds ? sql`now() + ${options.timeoutSeconds} * interval '1 second'` : sql`null`;
    await tx.execute(sql`
      insert into signal_waits (task_id, execution_id, name, deadline) values (${task.id}, ${task.executionId}, ${name}, ${deadline})
      on conflict (task_id) do nothing`);
    const [found] = await tx.execute<SignalWaitRow>(sql`
      select w.name, ${isoText('w.deadline')} as "timeoutAt", coalesce(w.deadline <= now(), false) as expired,
        ${isoText(`least(w.deadline, now() + interval '${EXTERNAL_WAIT_MAX_HOLD_SECONDS} seconds')`)} as "holdUntil",
        s.id::float8 as "signalId", s.payload, ${isoText('s.created_at')} as "sentAt"
      from signal_waits w
        left join lateral (select * from execution_signals s where s.execution_id = w.execution_id and s.name = w.name order by s.id limit 1) s on true
      where w.task_id = ${task.id}`);
    return { row: found!, paused: execution.status === 'paused' };
  });
  if (row.name !== name) throw new NonRetryableError(`A task waits for one signal: this one waits for "${row.name}"`);
  const heldForResume = (progress: Record<string, unknown>) => new WaitRequest(new Date(Date.now() + EXTERNAL_WAIT_MAX_HOLD_SECONDS * 1000), { progress });
  if (row.signalId !== null) {
    if (paused) throw heldForResume({ status: 'signal_received', signal: name });
    return { id: row.signalId, name, payload: row.payload ?? null, sentAt: row.sentAt! };
  }
  if (row.expired) {
    if (paused) throw heldForResume({ status: 'signal_timed_out', signal: name, timeoutAt: row.timeoutAt });
    return null;
  }
  throw new WaitRequest(new Date(row.holdUntil), { progress: { status: 'waiting_for_signal', signal: name, timeoutAt: row.timeoutAt }, wakeWhenReady: true });
}
