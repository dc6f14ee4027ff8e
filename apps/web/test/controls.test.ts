import { controlExecution, EngineError, retryExecution, startExecution } from '@strata/engine';
import { CONTROL_ACTIONS, EXECUTION_STATUSES, isTerminalStatus } from '@strata/engine/contract';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableControls, canRetry } from '../src/lib/execution.ts';

/**
 * Issue 11: the controls the dashboard offers are exactly the transitions the engine accepts,
 * for every status (issue 13: and the re-run, for every status, settled or not). The engine is
 * asked for real, on a real database: an action "is accepted" when the call succeeds and the
 * execution leaves its status (a repeat of the current state is an idempotent no-op, nothing to
 * offer).
 */
let h: EngineHarness;
let workspaceId: string;
let strategyId: string;

beforeAll(async () => {
  h = await createEngineHarness();
  workspaceId = await h.workspace();
  // No worker: the task stays queued, so the execution stays where the test puts it.
  strategyId = await h.strategy(workspaceId, [{ key: 'only', description: 'only', agentType: 'content' }]);
});
afterAll(async () => {
  await h?.close();
});

async function executionIn(status: string): Promise<string> {
  const { id } = await startExecution(h.ctx, { strategyId, workspaceId });
  await h.database.sql`update executions set status = ${status}, completed_at = case when ${isTerminalStatus(status)} then now() end where id = ${id}`;
  return id;
}

describe('the dashboard offers exactly what the engine accepts', () => {
  it.each(EXECUTION_STATUSES.flatMap((status) => CONTROL_ACTIONS.map((action) => [status, action] as const)))('%s: %s', async (status, action) => {
    const id = await executionIn(status);
    let accepted: boolean;
    try {
      const after = await controlExecution(h.ctx, id, action);
      accepted = after.status !== status;
    } catch (error) {
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe('CONFLICT');
      accepted = false;
    }
    expect(availableControls(status)[action]).toBe(accepted);
  });

  it.each(EXECUTION_STATUSES.flatMap((status) => [[status, true] as const, [status, false] as const]))('%s (settled: %s): retry from failure', async (status, settled) => {
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId });
    await h.database.sql`update executions set status = ${status}, completed_at = case when ${settled} then now() end where id = ${id}`;
    const completedAt = settled ? new Date().toISOString() : null;
    let accepted: boolean;
    try {
      const retry = await retryExecution(h.ctx, { executionId: id });
      accepted = retry.id !== id;
    } catch (error) {
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe('CONFLICT');
      accepted = false;
    }
    expect(canRetry({ status, completedAt })).toBe(accepted);
  });

  it('offers pause only while running (never on pending), resume only while paused', () => {
    expect(availableControls('pending')).toEqual({ pause: false, resume: false, cancel: true });
    expect(availableControls('running')).toEqual({ pause: true, resume: false, cancel: true });
    expect(availableControls('paused')).toEqual({ pause: false, resume: true, cancel: true });
  });
});
