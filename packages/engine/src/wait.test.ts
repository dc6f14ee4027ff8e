import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';
import type { EngineWorker } from './worker.ts';

let h: EngineHarness;
let worker: EngineWorker;
const runs: { key: string; resumed: boolean; at: number }[] = [];

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('coordination', ({ task, wait, dependencies }) => {
    runs.push({ key: task.key, resumed: task.resumedFromWait, at: Date.now() });
    const waitMs = Number(task.input.waitMs ?? 0);
    if (waitMs && !task.resumedFromWait) wait(new Date(Date.now() + waitMs));
    return { key: task.key, merged: dependencies.map((d) => d.key) };
  });
  // One slot: a waiting task must not hold it.
  worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'coordination', ...extra });

describe('durable waits', () => {
  it('holds a task without a worker slot and shows it in progress with its wake-up time', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('waiter', { input: { waitMs: 1500 } }), item('other')]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    let during: Awaited<ReturnType<EngineHarness['waitForStatus']>> | undefined;
    for (let i = 0; i < 100; i++) {
      during = await h.waitForStatus(execution.id, ['running']);
      if (during.tasks.find((t) => t.key === 'waiter')?.wake_at && during.tasks.find((t) => t.key === 'other')?.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const waiter = during!.tasks.find((t) => t.key === 'waiter')!;
    expect(waiter.status).toBe('in_progress');
    expect(new Date(waiter.wake_at!).getTime()).toBeGreaterThan(Date.now());
    // The other task ran on the single slot while the waiter waited.
    expect(during!.tasks.find((t) => t.key === 'other')?.status).toBe('completed');
    const done = await h.waitForStatus(execution.id, ['completed']);
    const waiterRuns = runs.filter((r) => r.key === 'waiter');
    expect(waiterRuns.map((r) => r.resumed)).toEqual([false, true]);
    expect(waiterRuns[1]!.at - waiterRuns[0]!.at).toBeGreaterThanOrEqual(1400);
    expect(done.tasks.find((t) => t.key === 'waiter')).toMatchObject({ status: 'completed', wake_at: null });
    expect(done.health.issues).toEqual([]);
  });

  it('lets a wait run out while paused (the task completes, like in-flight work)', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('w', { input: { waitMs: 800 } }), item('after', { dependsOn: ['w'] })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await waitUntilWaiting(execution.id, 'w');
    await controlExecution(h.ctx, execution.id, 'pause');
    await new Promise((r) => setTimeout(r, 1800));
    const paused = await h.waitForStatus(execution.id, ['paused']);
    expect(paused.tasks.find((t) => t.key === 'w')?.status).toBe('completed');
    expect(paused.tasks.find((t) => t.key === 'after')?.status).toBe('pending');
    await controlExecution(h.ctx, execution.id, 'resume');
    await h.waitForStatus(execution.id, ['completed']);
  });

  it('cuts a wait short on cancel and skips the task', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('long', { input: { waitMs: 60_000 } })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await waitUntilWaiting(execution.id, 'long');
    await controlExecution(h.ctx, execution.id, 'cancel');
    const done = await h.waitForStatus(execution.id, ['cancelled'], 5000);
    expect(done.tasks[0]).toMatchObject({ status: 'skipped' });
    expect(done.execution.completedAt).not.toBeNull();
  });

  it('survives a worker restart', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('sleeper', { input: { waitMs: 1000 } })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await waitUntilWaiting(execution.id, 'sleeper');
    await worker.stop();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.waitForStatus(execution.id, ['running'])).tasks[0]?.status).toBe('in_progress');
    worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.tasks[0]?.status).toBe('completed');
  });
});

async function waitUntilWaiting(executionId: string, key: string) {
  for (let i = 0; i < 200; i++) {
    const status = await h.waitForStatus(executionId, ['running', 'paused']);
    if (status.tasks.find((t) => t.key === key)?.wake_at) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${key} never started waiting`);
}
