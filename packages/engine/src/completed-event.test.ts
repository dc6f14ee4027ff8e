import { describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { EVENT_RESULT_MAX_BYTES } from './limits.ts';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';

/** Issue 11: results appear live: a small result rides on its task-completed event, a large one is marked. */
let h: EngineHarness;
useEngineHarness(async (created) => {
  h = created;
  h.registry.register('content', ({ task }) => ({ text: 'x'.repeat(Number(task.input.size)) }));
  await h.startWorker();
});

describe('task-completed', () => {
  it('carries a small result, and marks a large one as omitted (the status body has it)', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'small', description: 'small', agentType: 'content', input: { size: 10 } },
      { key: 'large', description: 'large', agentType: 'content', input: { size: EVENT_RESULT_MAX_BYTES + 1 } },
    ]);
    const { id } = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const status = await h.waitForStatus(id, ['completed']);
    const taskId = (key: string) => status.tasks.find((t) => t.key === key)!.id;
    const completed = (await h.events(id)).filter((e) => e.type === 'task-completed');
    const small = completed.find((e) => e.data.taskId === taskId('small'))!;
    const large = completed.find((e) => e.data.taskId === taskId('large'))!;
    expect(small.data).toMatchObject({ status: 'completed', result: { text: 'x'.repeat(10) } });
    expect(large.data).toMatchObject({ status: 'completed', resultOmitted: true });
    expect(large.data).not.toHaveProperty('result');
    expect(status.tasks.find((t) => t.key === 'large')!.result).toEqual({ text: 'x'.repeat(EVENT_RESULT_MAX_BYTES + 1) });
  });
});
