import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from './lifecycle.ts';
import { getExecutionStatus } from './status.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';
import type { EngineWorker } from './worker.ts';

/**
 * Issue 10, item 4: every task state change has an event. Skipping (cancel, the failure
 * policy) and a paused claim handing its task back were silent, so a live view kept showing
 * those tasks as assigned or pending.
 */
let h: EngineHarness;
let worker: EngineWorker | undefined;

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 50 } });
  h.registry.register('content', ({ task }) => {
    if (task.input.fail) throw new Error(`boom in ${task.key}`);
    return { ok: task.key };
  });
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'content', ...extra });

/** Each task's status as its events tell it (every task event names the task's resulting status). */
async function statusesFromEvents(executionId: string): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const event of await h.events(executionId)) {
    const taskId = event.data.taskId;
    if (typeof taskId !== 'string') continue;
    if (event.type === 'task-assigned') statuses.set(taskId, 'assigned');
    else if (event.type === 'task-completed') statuses.set(taskId, 'completed');
    else if (event.type === 'task-progress') statuses.set(taskId, String(event.data.status));
    else if (event.type === 'task-failed') statuses.set(taskId, String(event.data.status ?? 'failed'));
  }
  return statuses;
}

/** The event log accounts for every task's current status: a task never started has none and is pending. */
async function expectEventsTellEveryStatus(executionId: string) {
  const told = await statusesFromEvents(executionId);
  const { tasks } = await getExecutionStatus(h.database.db, executionId);
  expect(Object.fromEntries(tasks.map((t) => [t.key, told.get(t.id) ?? 'pending']))).toEqual(Object.fromEntries(tasks.map((t) => [t.key, t.status])));
}

async function skipEvents(executionId: string) {
  return (await h.events(executionId)).filter((e) => e.type === 'task-failed' && e.data.status === 'skipped');
}

describe('skipped tasks have events', () => {
  it('cancel: each queued or pending task gets task-failed with status skipped, before the final event', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('a'), item('b'), item('c', { dependsOn: ['a'] })]);
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await controlExecution(h.ctx, id, 'cancel');
    const status = await h.waitForStatus(id, ['cancelled']);
    expect(status.tasks.map((t) => t.status)).toEqual(['skipped', 'skipped', 'skipped']);
    const events = await h.events(id);
    const skips = await skipEvents(id);
    expect(skips.map((e) => e.data.taskId).sort()).toEqual(status.tasks.map((t) => t.id).sort());
    expect(skips.every((e) => e.data.reason === 'cancelled' && e.data.willRetry === false)).toBe(true);
    expect(events.at(-1)?.type).toBe('execution-cancelled');
    await expectEventsTellEveryStatus(id);
  });

  it('a failed task failing the execution: the rest are skipped, each with its event', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('bad', { input: { fail: true }, maxRetries: 0 }), item('after', { dependsOn: ['bad'] })]);
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    worker = await h.startWorker();
    const status = await h.waitForStatus(id, ['failed']);
    const after = status.tasks.find((t) => t.key === 'after')!;
    expect(after.status).toBe('skipped');
    expect((await skipEvents(id)).map((e) => [e.data.taskId, e.data.reason])).toEqual([[after.id, 'execution-failed']]);
    await expectEventsTellEveryStatus(id);
  });

  it('onTaskFailure "continue": the failed task\'s dependents are skipped, each with its event', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(
      ws,
      [item('bad', { input: { fail: true }, maxRetries: 0 }), item('child', { dependsOn: ['bad'] }), item('grandchild', { dependsOn: ['child'] }), item('other')],
      { onTaskFailure: 'continue' },
    );
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    worker = await h.startWorker();
    const status = await h.waitForStatus(id, ['completed']);
    const byKey = new Map(status.tasks.map((t) => [t.key, t]));
    expect((await skipEvents(id)).map((e) => [e.data.taskId, e.data.reason]).sort()).toEqual(
      [
        [byKey.get('child')!.id, 'dependency-failed'],
        [byKey.get('grandchild')!.id, 'dependency-failed'],
      ].sort(),
    );
    await expectEventsTellEveryStatus(id);
  });
});

describe('a paused claim', () => {
  it('hands its task back to pending with a task-progress event saying so', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('only')]);
    // Queued while no worker runs, then paused: the job is still there when a worker comes.
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await controlExecution(h.ctx, id, 'pause');
    worker = await h.startWorker();
    const returned = await waitForEvent(id, (e) => e.type === 'task-progress' && e.data.status === 'pending');
    expect(returned.data).toMatchObject({ status: 'pending', reason: 'paused' });
    expect((await getExecutionStatus(h.database.db, id)).tasks[0]?.status).toBe('pending');
    await expectEventsTellEveryStatus(id);
    await controlExecution(h.ctx, id, 'resume');
    await h.waitForStatus(id, ['completed']);
    await expectEventsTellEveryStatus(id);
  });
});

/** Waits for an event the worker appends (a condition on the log, read until it holds). */
async function waitForEvent(executionId: string, match: (e: { type: string; data: Record<string, unknown> }) => boolean) {
  for (let i = 0; i < 600; i++) {
    const found = (await h.events(executionId)).find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the event never came');
}
