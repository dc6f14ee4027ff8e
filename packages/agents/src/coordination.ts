import { z } from 'zod';
import type { BuiltInAgent } from './types.ts';

const MAX_WAIT_SECONDS = 30 * 24 * 3600;

export const coordinationInput = z
  .object({
    waitSeconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    note: z.string().max(2000).optional(),
  })
  .refine((input) => input.waitSeconds === undefined || input.until === undefined, { message: 'give waitSeconds or until, not both' });

/**
 * Fans in: merges its dependencies' results by key. It can first wait — `waitSeconds` or
 * `until` — durably (the engine holds the task without a worker slot, across restarts).
 */
export const coordinationAgent: BuiltInAgent = () => ({
  inputSchema: coordinationInput,
  run: async ({ task, dependencies, wait, progress }) => {
    const input = coordinationInput.parse(task.input);
    if (!task.resumedFromWait) {
      const until = input.until ? new Date(input.until) : input.waitSeconds ? new Date(Date.now() + input.waitSeconds * 1000) : undefined;
      if (until && until.getTime() > Date.now()) {
        await progress({ step: 'waiting', until: until.toISOString() });
        wait(until);
      }
    }
    const merged: Record<string, unknown> = {};
    for (const dependency of dependencies) merged[dependency.key] = dependency.result;
    return {
      merged,
      dependencies: dependencies.map((d) => ({ key: d.key, agentType: d.agentType, taskId: d.taskId })),
      waited: task.resumedFromWait,
      ...(input.note ? { note: input.note } : {}),
      completedAt: new Date().toISOString(),
    };
  },
});
