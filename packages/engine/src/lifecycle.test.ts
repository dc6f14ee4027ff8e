import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from './errors.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

let h: EngineHarness;
const started: { key: string; at: number }[] = [];

beforeAll(async () => {
  h = await createEngineHarness();
  for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) {
    h.registry.register(type, async ({ task, dependencies }) => {
      started.push({ key: task.key, at: Date.now() });
      const delay = Number(task.input.delayMs ?? 0);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      return { key: task.key, saw: dependencies.map((d) => d.key) };
    });
  }
  await h.startWorker({ defaultQueue: { batchSize: 50, localConcurrency: 2 } });
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
  key,
  description: `Do ${key}`,
  agentType: 'content',
  dependsOn,
  ...extra,
});

describe('execution lifecycle', () => {
  it('runs a linear chain in order, passing results forward', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('a'), item('b', ['a']), item('c', ['b'])]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    expect(execution).toMatchObject({ status: 'pending', totalTasks: 3 });
    expect(execution.id).toMatch(/^exec_\d{13}_[a-z0-9]+$/);
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution).toMatchObject({ status: 'completed', completedTasks: 3, failedTasks: 0 });
    expect(done.execution.completedAt).not.toBeNull();
    const byKey = new Map(done.tasks.map((t) => [t.key, t]));
    expect(byKey.get('c')?.result).toEqual({ key: 'c', saw: ['b'] });
    const order = ['a', 'b', 'c'].map((k) => byKey.get(k)!);
    expect(new Date(order[0]!.completed_at!) <= new Date(order[1]!.started_at!)).toBe(true);
    expect(new Date(order[1]!.completed_at!) <= new Date(order[2]!.started_at!)).toBe(true);
    expect(done.health.score).toBe(100);
    expect(done.health.completionRate).toBe(1);

    const events = await h.events(execution.id);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('execution-started');
    expect(types.at(-1)).toBe('execution-completed');
    expect(types.filter((t) => t === 'task-assigned')).toHaveLength(3);
    expect(types.filter((t) => t === 'task-completed')).toHaveLength(3);
    expect(types).toContain('health-update');
    expect(types).toContain('metrics-update');
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((x, y) => x - y));
    expect(events.find((e) => e.type === 'task-completed')?.data.taskId).toMatch(/^task_/);
  });

  it('runs a diamond, starting the join only after both branches', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('top'), item('left', ['top'], { input: { delayMs: 100 } }), item('right', ['top']), item('join', ['left', 'right'])]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed']);
    const join = done.tasks.find((t) => t.key === 'join')!;
    expect(join.result).toEqual({ key: 'join', saw: ['left', 'right'] });
    for (const key of ['left', 'right']) {
      expect(new Date(done.tasks.find((t) => t.key === key)!.completed_at!) <= new Date(join.started_at!)).toBe(true);
    }
    const assigned = (await h.events(execution.id)).filter((e) => e.type === 'task-assigned' && e.data.taskId === join.id);
    expect(assigned).toHaveLength(1);
  });

  it('runs a wide fan-out of 500 independent tasks', async () => {
    const ws = await h.workspace();
    const items = Array.from({ length: 500 }, (_, i) => item(`t${i}`));
    const strategyId = await h.strategy(ws, items);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution).toMatchObject({ totalTasks: 500, completedTasks: 500, failedTasks: 0 });
    expect(done.tasks.every((t) => t.status === 'completed')).toBe(true);
  });

  it('completes a zero-task strategy at once', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, []);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed'], 5000);
    expect(done.execution).toMatchObject({ totalTasks: 0, completedTasks: 0 });
    const types = (await h.events(execution.id)).map((e) => e.type);
    expect(types).toEqual(['execution-started', 'health-update', 'metrics-update', 'execution-completed']);
  });

  it('refuses a strategy from another workspace or an unknown one', async () => {
    const ws = await h.workspace();
    const other = await h.workspace();
    const strategyId = await h.strategy(ws, [item('a')]);
    await expect(startExecution(h.ctx, { strategyId, workspaceId: other })).rejects.toThrow(`Strategy not found: ${strategyId}`);
    await expect(startExecution(h.ctx, { strategyId: 'strat_nope', workspaceId: ws })).rejects.toThrow('Strategy not found: strat_nope');
  });

  it('rejects impossible transitions with CONFLICT and repeats as no-ops', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('a')]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      const error = await controlExecution(h.ctx, execution.id, action).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe('CONFLICT');
      expect((error as EngineError).message).toBe(`Cannot ${action} an execution that is completed`);
    }
    await expect(controlExecution(h.ctx, 'exec_0_missing', 'pause')).rejects.toThrow('Execution not found');
  });
});
