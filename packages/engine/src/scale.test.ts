import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
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
