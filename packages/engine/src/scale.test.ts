import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

let h: EngineHarness;

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('content', async ({ task }) => {
    const delay = Number(task.input.delayMs ?? 0);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return { key: task.key };
  });
  await h.startWorker({ defaultQueue: { batchSize: 5, localConcurrency: 4 } });
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'content', ...extra });

describe('concurrency', () => {
  it('completes 50 executions started at once, with exact counts', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [item('a'), item('b', { dependsOn: ['a'] }), item('c', { dependsOn: ['a'] }), item('d', { dependsOn: ['b', 'c'] })]);
    const executions = await Promise.all(Array.from({ length: 50 }, () => startExecution(h.ctx, { strategyId, workspaceId: ws })));
    const finals = await Promise.all(executions.map((e) => h.waitForStatus(e.id, ['completed'], 90_000)));
    for (const done of finals) {
      expect(done.execution).toMatchObject({ totalTasks: 4, completedTasks: 4, failedTasks: 0 });
      expect(done.tasks.every((t) => t.status === 'completed')).toBe(true);
    }
    const [dupes] = await h.database.sql`
      select count(*)::int as n from (
        select data->>'taskId' from execution_events where type = 'task-completed' group by data->>'taskId' having count(*) > 1) d`;
    expect(dupes?.n).toBe(0);
  });
});

describe('fairness between workspaces', () => {
  it("starts a small execution's tasks promptly while another workspace runs 10,000 tasks", async () => {
    const big = await h.workspace('Big');
    const small = await h.workspace('Small');
    const bigStrategy = await h.strategy(
      big,
      Array.from({ length: 10_000 }, (_, i) => item(`big-${i}`, { input: { delayMs: 20 } })),
    );
    const smallStrategy = await h.strategy(small, [item('one'), item('two', { dependsOn: ['one'] }), item('three', { dependsOn: ['two'] })]);
    const bigRun = await startExecution(h.ctx, { strategyId: bigStrategy, workspaceId: big });
    // Let the backlog build up and the workers get busy with it.
    await new Promise((r) => setTimeout(r, 1000));
    const began = Date.now();
    const smallRun = await startExecution(h.ctx, { strategyId: smallStrategy, workspaceId: small });
    const done = await h.waitForStatus(smallRun.id, ['completed'], 30_000);
    const elapsed = Date.now() - began;
    const bigNow = await h.waitForStatus(bigRun.id, ['running']);
    // The small chain of three finished while most of the big backlog was still waiting.
    expect(done.execution.completedTasks).toBe(3);
    expect(bigNow.execution.completedTasks).toBeLessThan(9000);
    // Each of its tasks started within about a second of becoming ready.
    const tasks = [...done.tasks].sort((a, b) => a.started_at!.localeCompare(b.started_at!));
    expect(new Date(tasks[0]!.started_at!).getTime() - began).toBeLessThan(1500);
    expect(elapsed).toBeLessThan(4000);
    await controlExecution(h.ctx, bigRun.id, 'cancel');
    await h.waitForStatus(bigRun.id, ['cancelled'], 60_000);
  });
});
