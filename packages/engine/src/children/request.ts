import { z } from 'zod';
import type { Health } from '../contract.ts';

/**
 * What a `strategy` item asks for (its input): another strategy of the same workspace to run as
 * a child execution, at a pinned `version` or the latest, with the child's own parameters.
 * Strict: a misspelt `versoin` is refused rather than silently running the latest version.
 */
export const childRequestSchema = z
  .object({
    strategyId: z
      .string({ error: 'is required (the id of a strategy of this workspace)' })
      .trim()
      .min(1, 'is required (the id of a strategy of this workspace)')
      .max(200, 'at most 200 characters'),
    version: z.number().int().min(1).max(2_147_483_647).optional(),
    input: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
  })
  .strict();

export type ChildRequest = z.output<typeof childRequestSchema>;

/**
 * Thrown by `context.child.waitFor(request)`: the engine starts the child (unless this attempt
 * already has one) and holds the task, durably and without a worker slot, until the child ends;
 * the agent then runs again with `task.resumedFromWait`.
 */
export class ChildWaitRequest extends Error {
  readonly request: ChildRequest;
  constructor(request: ChildRequest) {
    super(`Waiting for a child execution of ${request.strategyId}`);
    this.name = 'ChildWaitRequest';
    this.request = request;
  }
}

/** A final task's result that did not fit in the summary: where to read it. */
export interface OmittedResult {
  key: string;
  taskId: string;
  /** The result's size as JSON, in bytes. */
  bytes: number;
}

/**
 * A child execution as its parent's task sees it (the `strategy` agent's result): its status and
 * counts, its health, and the results of its final tasks (those nothing else depends on) by key,
 * as many as fit in the summary's budget (see summary.ts); the others are named in
 * `omittedResults`, to be read from the child.
 */
export interface ChildSummary {
  executionId: string;
  strategyId: string;
  strategyVersion: number;
  status: string;
  error: string | null;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
  skippedTasks: number;
  health: Health;
  results: Record<string, unknown>;
  omittedResults: OmittedResult[];
}
