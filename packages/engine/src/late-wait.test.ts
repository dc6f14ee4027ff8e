import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockAt, clearHooks } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

/** Item 2(a) of issue 10: a wait() recorded after its execution ended skips the task. */
let h: EngineHarness;
beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 100 } });
  // Like the built-in coordination agent: reports progress, then waits.
  h.registry.register('coordination', async ({ progress, wait }) => {
    await progress({ step: 'waiting for replies' });
    wait(new Date(Date.now() + 60_000));
  });
  h.registry.register('email', () => {
    throw new Error('mailbox full');
  });
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => clearHooks());

async function expectEndedCleanly(executionId: string, status: 'cancelled' | 'failed', finalEvent: string) {
  const done = await h.waitForStatus(executionId, [status], 15_000);
  expect(done.execution.completedAt).not.toBeNull();
  const waiter = done.tasks.find((t) => t.key === 'waiter')!;
  expect(waiter).toMatchObject({ status: 'skipped', wake_at: null });
  expect(waiter.completed_at).not.toBeNull();
  const events = await h.events(executionId);
  expect(events.at(-1)?.type).toBe(finalEvent);
  expect(events.filter((e) => e.type === finalEvent)).toHaveLength(1);
  expect(events.some((e) => e.data.taskId === waiter.id && e.data.status === 'skipped')).toBe(true);
  // No wake-up job is left to fire.
  const [jobs] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where data->>'taskId' = ${waiter.id} and state in ('created', 'retry')`;
  expect(jobs?.n).toBe(0);
}

describe('a wait recorded after the execution ended', () => {
  it('skips the task when the execution was cancelled while the agent ran', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [{ key: 'waiter', description: 'waiter', agentType: 'coordination' }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const record = blockAt('worker:before-record', { match: (info) => (info.outcomes as { executionId: string; ok: unknown }[]).some((o) => o.executionId === execution.id && o.ok === 'wait') });
    await record.reached;
    await controlExecution(h.ctx, execution.id, 'cancel');
    record.release();
    await expectEndedCleanly(execution.id, 'cancelled', 'execution-cancelled');
  });

  it('skips the task when the execution failed while the agent ran', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'waiter', description: 'waiter', agentType: 'coordination' },
      { key: 'doomed', description: 'doomed', agentType: 'email', maxRetries: 0 },
    ]);
    const record = blockAt('worker:before-record', { match: (info) => (info.outcomes as { ok: unknown }[]).some((o) => o.ok === 'wait') });
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await record.reached;
    // The other task failed the execution while the waiter's outcome was held.
    for (let i = 0; i < 500; i++) {
      const [row] = await h.database.sql<{ status: string }[]>`select status from executions where id = ${execution.id}`;
      if (row?.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    record.release();
    await expectEndedCleanly(execution.id, 'failed', 'error');
  });
});
