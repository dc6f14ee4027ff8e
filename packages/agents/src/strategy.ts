import { type ChildSummary, childRequestSchema, NonRetryableError } from '@strata/engine';
import { isTerminalStatus } from '@strata/engine/contract';
import type { BuiltInAgent } from './types.ts';

/**
 * Runs another strategy of the workspace as a child execution and waits for it: `{ strategyId,
 * version?, input? }`. The engine starts the child (one per attempt of this task), holds the task
 * durably without a worker slot, and wakes it when the child ends. Its result is the child's
 * summary: status, counts, health and the results of its final tasks. A failed child fails the
 * task (a retry starts a new child); a cancelled one fails it without retry (someone stopped it).
 */
export const strategyAgent: BuiltInAgent = () => ({
  inputSchema: childRequestSchema,
  description: "Runs another strategy of this workspace as a child execution and waits for it; its result is the child's summary.",
  example: { strategyId: 'strat_…' },
  run: async ({ task, child }): Promise<ChildSummary> => {
    const request = childRequestSchema.parse(task.input);
    const summary = await child.current();
    // None yet: start it. Still running (the safety-net look): go on waiting for the same one.
    if (!summary || !isTerminalStatus(summary.status)) return child.waitFor(request);
    if (summary.status === 'completed') return summary;
    const what = `Child execution ${summary.executionId} (${summary.strategyId})`;
    if (summary.status === 'cancelled') throw new NonRetryableError(`${what} was cancelled`);
    throw new Error(`${what} failed: ${summary.error ?? 'no reason given'}`);
  },
});
