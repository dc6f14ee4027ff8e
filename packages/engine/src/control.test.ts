import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from './lifecycle.ts';
import { NonRetryableError } from './errors.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

let h: EngineHarness;
const starts = new Map<string, number[]>();
const failuresLeft = new Map<string, number>();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 300, maxMs: 5000 } });
  h.registry.register('content', async ({ task, signal }) => {
    const list = starts.get(task.id) ?? [];
    list.push(Date.now());
    starts.set(task.id, list);
    const delay = Number(task.input.delayMs ?? 0);
    if (delay) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delay);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
    }
    if (task.input.fail === 'always') throw new Error(`boom in ${task.key}`);
    if (task.input.fail === 'fatal') throw new NonRetryableError(`bad input in ${task.key}`);
    const left = failuresLeft.get(task.id) ?? Number(task.input.failTimes ?? 0);
    if (left > 0) {
      failuresLeft.set(task.id, left - 1);
      throw new Error(`transient failure ${left}`);
    }
    return { ok: task.key };
  });
  // One task at a time makes start order observable.
  await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 2 }, queues: { email: { batchSize: 1, localConcurrency: 1 } } });
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'content', ...extra });

describe('priorities', () => {
  it('starts ready tasks highest priority first', async () => {
    const order: string[] = [];
    h.registry.register('email', ({ task }) => {
      order.push(task.key);
      return null;
    });
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      item('low-1', { agentType: 'email', priority: 'low' }),
      item('medium-1', { agentType: 'email' }),
      item('high-1', { agentType: 'email', priority: 'high' }),
      item('low-2', { agentType: 'email', priority: 'low' }),
      item('high-2', { agentType: 'email', priority: 'high' }),
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    expect(order).toEqual(['high-1', 'high-2', 'medium-1', 'low-1', 'low-2']);
  });
});

describe('pause and resume', () => {
  it('starts nothing while paused, lets in-flight tasks finish, and resumes to completion', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, Array.from({ length: 8 }, (_, i) => item(`p${i}`, { input: { delayMs: 300 } })));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // wait until something is running
    for (let i = 0; i < 100 && starts.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const paused = await controlExecution(h.ctx, execution.id, 'pause');
    expect(paused.status).toBe('paused');
    const pausedAt = Date.now();
    expect((await controlExecution(h.ctx, execution.id, 'pause')).status).toBe('paused'); // idempotent
    await new Promise((r) => setTimeout(r, 1200));
    const during = await h.waitForStatus(execution.id, ['paused']);
    expect(during.tasks.filter((t) => t.status === 'in_progress')).toEqual([]);
    const startedAfterPause = during.tasks.filter((t) => t.started_at && new Date(t.started_at).getTime() > pausedAt + 50);
    expect(startedAfterPause).toEqual([]);
    const finished = during.tasks.filter((t) => t.status === 'completed').length;
    expect(finished).toBeGreaterThan(0);
    expect(finished).toBeLessThan(8);

    expect((await controlExecution(h.ctx, execution.id, 'resume')).status).toBe('running');
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution.completedTasks).toBe(8);
    const types = (await h.events(execution.id)).map((e) => e.type);
    expect(types).toContain('execution-paused');
    expect(types).toContain('execution-resumed');
    expect(types.at(-1)).toBe('execution-completed');
  });
});

describe('cancel', () => {
  it('while running: in-flight tasks finish, the rest are skipped, and it cannot resume', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, Array.from({ length: 6 }, (_, i) => item(`c${i}`, { input: { delayMs: 400 } })));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await waitForInProgress(execution.id);
    const cancelled = await controlExecution(h.ctx, execution.id, 'cancel');
    expect(cancelled.status).toBe('cancelled');
    const done = await waitSettled(execution.id);
    expect(done.execution.status).toBe('cancelled');
    expect(done.execution.completedAt).not.toBeNull();
    const statuses = done.tasks.map((t) => t.status);
    expect(statuses.filter((s) => s === 'completed').length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 'skipped').length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 'completed' || s === 'skipped')).toBe(true);
    expect(done.execution.completedTasks).toBe(statuses.filter((s) => s === 'completed').length);
    const events = await h.events(execution.id);
    expect(events.at(-1)?.type).toBe('execution-cancelled');
    await expect(controlExecution(h.ctx, execution.id, 'resume')).rejects.toThrow('Cannot resume an execution that is cancelled');
    expect((await controlExecution(h.ctx, execution.id, 'cancel')).status).toBe('cancelled');
  });

  it('while paused: every task not started is skipped', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('first', { input: { delayMs: 200 } }), item('second', { dependsOn: ['first'] }), item('third', { dependsOn: ['second'] })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await controlExecution(h.ctx, execution.id, 'pause');
    await controlExecution(h.ctx, execution.id, 'cancel');
    const done = await waitSettled(execution.id);
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t.status]));
    expect(byKey.second).toBe('skipped');
    expect(byKey.third).toBe('skipped');
    expect(['completed', 'skipped']).toContain(byKey.first);
  });
});

describe('retries and failures', () => {
  it('retries a failing attempt after exponential backoff, then completes', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('flaky', { input: { failTimes: 2 }, maxRetries: 3 })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed']);
    const task = done.tasks[0]!;
    expect(task).toMatchObject({ status: 'completed', retry_count: 2 });
    const times = starts.get(task.id)!;
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(300 - 20);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(600 - 20);
    const events = await h.events(execution.id);
    const failed = events.filter((e) => e.type === 'task-failed');
    expect(failed.map((e) => [e.data.retryCount, e.data.willRetry, e.data.retryInMs])).toEqual([
      [1, true, 300],
      [2, true, 600],
    ]);
    expect(failed[0]?.data.error).toBe('transient failure 2');
    expect(done.health.score).toBeLessThan(100);
    expect(done.health.issues.join()).toContain('needed retries');
  });

  it('fails the execution when a task exhausts its retries, skipping the rest', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('doomed', { input: { fail: 'always' }, maxRetries: 1 }), item('after', { dependsOn: ['doomed'] }), item('slow', { input: { delayMs: 3000 }, dependsOn: ['after'] })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await waitSettled(execution.id);
    expect(done.execution).toMatchObject({ status: 'failed', failedTasks: 1, completedTasks: 0 });
    expect(done.execution.error).toBe('Task "doomed" failed: boom in doomed');
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
    expect(byKey.doomed).toMatchObject({ status: 'failed', retry_count: 1, error: 'boom in doomed' });
    expect(byKey.after?.status).toBe('skipped');
    const events = await h.events(execution.id);
    expect(events.at(-1)).toMatchObject({ type: 'error', data: { status: 'failed', error: 'Task "doomed" failed: boom in doomed' } });
    // Two failed attempts of doomed; the tasks it took down each say they were skipped.
    expect(events.filter((e) => e.type === 'task-failed' && e.data.taskId === byKey.doomed?.id)).toHaveLength(2);
    expect(events.filter((e) => e.type === 'task-failed' && e.data.status === 'skipped').map((e) => e.data.taskId)).toEqual(
      expect.arrayContaining([byKey.after?.id, byKey.slow?.id]),
    );
  });

  it('with onTaskFailure "continue" skips only the dependents and completes', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('bad', { input: { fail: 'fatal' }, maxRetries: 5 }), item('child', { dependsOn: ['bad'] }), item('grandchild', { dependsOn: ['child'] }), item('independent')], { onTaskFailure: 'continue' });
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution).toMatchObject({ status: 'completed', failedTasks: 1, completedTasks: 1 });
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
    // a non-retryable error fails at once, whatever maxRetries says
    expect(byKey.bad).toMatchObject({ status: 'failed', retry_count: 0, error: 'bad input in bad' });
    expect(byKey.child?.status).toBe('skipped');
    expect(byKey.grandchild?.status).toBe('skipped');
    expect(byKey.independent?.status).toBe('completed');
    expect(done.health.errorRate).toBe(0.25);
  });

  it('counts a timeout as a failed attempt', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('sleepy', { input: { delayMs: 5000 }, timeoutSeconds: 1, maxRetries: 0 })]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await waitSettled(execution.id);
    expect(done.execution.status).toBe('failed');
    expect(done.tasks[0]).toMatchObject({ status: 'failed', error: 'Timed out after 1 s' });
  });
});

async function waitForInProgress(executionId: string) {
  for (let i = 0; i < 200; i++) {
    const events = await h.events(executionId);
    if (events.some((e) => e.type === 'task-progress')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('nothing started');
}

function waitSettled(executionId: string) {
  return h.waitForStatus(executionId, ['completed', 'failed', 'cancelled']);
}
