import { describe, expect, it } from 'vitest';
import { NonRetryableError } from './errors.ts';
import { blockAt } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { EVENT_RESULT_MAX_BYTES } from './limits.ts';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';

/**
 * Issue 11: what a live view needs is in the stream and the status body: a small result rides on
 * its task-completed event (a large one is marked), and a skipped task says why.
 */
let h: EngineHarness;
useEngineHarness(async (created) => {
  h = created;
  h.registry.register('content', ({ task }) => {
    if (task.input.fail) throw new NonRetryableError('broken on purpose');
    return { text: 'x'.repeat(Number(task.input.size ?? 1)) };
  });
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

describe('skip reasons in the status body', () => {
  it('names a failed dependency, and a cancel', async () => {
    const ws = await h.workspace();
    const failing = await h.strategy(
      ws,
      [
        { key: 'broken', description: 'broken', agentType: 'content', input: { fail: true } },
        { key: 'after', description: 'after', agentType: 'content', dependsOn: ['broken'] },
        { key: 'fine', description: 'fine', agentType: 'content' },
      ],
      { onTaskFailure: 'continue' },
    );
    const first = await startExecution(h.ctx, { strategyId: failing, workspaceId: ws });
    const done = await h.waitForStatus(first.id, ['completed']);
    expect(Object.fromEntries(done.tasks.map((t) => [t.key, [t.status, t.skip_reason]]))).toEqual({
      broken: ['failed', null],
      after: ['skipped', 'dependency-failed'],
      fine: ['completed', null],
    });

    // Nothing runs this one's tasks before the cancel: the worker's claims are held until it is in.
    const held = await h.strategy(ws, [
      { key: 'one', description: 'one', agentType: 'coordination' },
      { key: 'two', description: 'two', agentType: 'coordination', dependsOn: ['one'] },
    ]);
    const claims = blockAt('runner:before-claim');
    const second = await startExecution(h.ctx, { strategyId: held, workspaceId: ws });
    await controlExecution(h.ctx, second.id, 'cancel');
    claims.remove();
    const cancelled = await h.waitForStatus(second.id, ['cancelled']);
    expect(cancelled.tasks.map((t) => [t.key, t.status, t.skip_reason]).sort()).toEqual([
      ['one', 'skipped', 'cancelled'],
      ['two', 'skipped', 'cancelled'],
    ]);
  });
});
