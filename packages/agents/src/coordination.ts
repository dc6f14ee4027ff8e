import { type DependencyResult, NonRetryableError, SIGNAL_LIMITS, type SignalDelivery, signalNameSchema } from '@strata/engine';
import { z } from 'zod';
import type { BuiltInAgent } from './types.ts';

const MAX_WAIT_SECONDS = 30 * 24 * 3600;

export const coordinationInput = z
  .object({
    waitSeconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    waitForSignal: signalNameSchema.optional().meta({ description: 'Waits for the first signal of this name sent to the execution (POST /api/executions/{id}/signals) and completes with its payload' }),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(SIGNAL_LIMITS.timeoutMaxSeconds)
      .optional()
      .meta({ description: 'With waitForSignal: no signal after this long fails the task (no retries); without it the wait lasts as long as the execution' }),
    note: z.string().max(2000).optional(),
  })
  .refine((input) => input.waitSeconds === undefined || input.until === undefined, { message: 'give waitSeconds or until, not both' })
  .refine((input) => input.waitForSignal === undefined || (input.waitSeconds === undefined && input.until === undefined), {
    message: 'give waitForSignal or a time to wait (waitSeconds, until), not both',
    path: ['waitForSignal'],
  })
  .refine((input) => input.timeoutSeconds === undefined || input.waitForSignal !== undefined, { message: 'timeoutSeconds goes with waitForSignal', path: ['timeoutSeconds'] });

/** A summary of a dependency's result is at most about this many characters. */
export const SUMMARY_MAX_CHARS = 200;

/** What a coordination result says about one dependency: where its result is, how big, what it holds. */
export interface DependencyReference {
  key: string;
  agentType: string;
  taskId: string;
  /** The size of the dependency's result as JSON, in UTF-8 bytes. */
  resultBytes: number;
  /** Its top-level keys, its length, or its first characters; never the result itself. */
  summary: string;
}

export interface CoordinationResult {
  dependencies: DependencyReference[];
  waited: boolean;
  /** With waitForSignal: the signal it waited for (its payload, null when it carried none). */
  signal?: SignalDelivery;
  note?: string;
  completedAt: string;
}

/** The error code of a signal wait that ran out, in the task-failed event. */
export const SIGNAL_TIMED_OUT = 'signal_timed_out';

class SignalTimedOut extends NonRetryableError {
  readonly code = SIGNAL_TIMED_OUT;
}

/**
 * Fans in: names each dependency's result (key, agent type, task id, size, summary) without
 * copying it, so a chain of coordination tasks stays small however large the results it joins
 * (copying them made each hop hold everything before it). Whoever needs a result reads it from
 * that task (its `taskId`) or depends on that task. It can first wait — `waitSeconds` or
 * `until` — durably (the engine holds the task without a worker slot, across restarts), or wait
 * for a signal (`waitForSignal`: the first signal of that name sent to the execution, before or
 * after the task began to wait), failing without retries when `timeoutSeconds` passes first.
 */
export const coordinationAgent: BuiltInAgent = () => ({
  inputSchema: coordinationInput,
  description: 'Joins its dependencies (naming their results) and can first wait durably: for a time, until a date, or for a signal sent to the execution.',
  example: { waitSeconds: 60, note: 'Give the team a minute before the follow-up' },
  run: async ({ task, dependencies, wait, progress, waitForSignal }): Promise<CoordinationResult> => {
    const input = coordinationInput.parse(task.input);
    if (input.waitForSignal) {
      const signal = await waitForSignal(input.waitForSignal, { timeoutSeconds: input.timeoutSeconds });
      if (!signal) throw new SignalTimedOut(`No signal "${input.waitForSignal}" within ${input.timeoutSeconds} s`);
      return {
        dependencies: dependencies.map(referenceTo),
        waited: true,
        signal,
        ...(input.note ? { note: input.note } : {}),
        completedAt: new Date().toISOString(),
      };
    }
    if (!task.resumedFromWait) {
      const until = input.until ? new Date(input.until) : input.waitSeconds ? new Date(Date.now() + input.waitSeconds * 1000) : undefined;
      if (until && until.getTime() > Date.now()) {
        await progress({ step: 'waiting', until: until.toISOString() });
        wait(until);
      }
    }
    return {
      dependencies: dependencies.map(referenceTo),
      waited: task.resumedFromWait,
      ...(input.note ? { note: input.note } : {}),
      completedAt: new Date().toISOString(),
    };
  },
});

export function referenceTo(dependency: DependencyResult): DependencyReference {
  const json = JSON.stringify(dependency.result ?? null);
  return {
    key: dependency.key,
    agentType: dependency.agentType,
    taskId: dependency.taskId,
    resultBytes: Buffer.byteLength(json, 'utf8'),
    summary: summarise(dependency.result ?? null, json),
  };
}

/** A short description of a JSON value: at most SUMMARY_MAX_CHARS (plus an ellipsis). */
export function summarise(value: unknown, json: string): string {
  if (typeof value === 'string') return clip(value);
  if (Array.isArray(value)) return `array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'object with no keys';
    return clip(`object with keys: ${keys.join(', ')}`);
  }
  return clip(json); // a number, boolean or null
}

function clip(text: string): string {
  if (text.length <= SUMMARY_MAX_CHARS) return text;
  let end = SUMMARY_MAX_CHARS;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not split a surrogate pair
  return `${text.slice(0, end)}…`;
}

/** True for a coordination agent's result: a template that reads through it gets a hint. */
export function isCoordinationResult(value: unknown): value is CoordinationResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const { dependencies } = value as { dependencies?: unknown };
  return (
    Array.isArray(dependencies) &&
    dependencies.every((d) => d !== null && typeof d === 'object' && typeof (d as DependencyReference).taskId === 'string' && typeof (d as DependencyReference).resultBytes === 'number')
  );
}
