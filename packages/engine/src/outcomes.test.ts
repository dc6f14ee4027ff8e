import { describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { claimTasks, recordOutcomesIsolated } from './runner.ts';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';

/** Item 5 of issue 10: one bad outcome harms only its own task. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

describe('an outcome PostgreSQL refuses', () => {
  it('is recorded on its own when its batch fails: the others are recorded, it fails without retry', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(
      ws,
      ['bad', 'good'].map((key) => ({ key, description: key, agentType: 'content' })),
      { onTaskFailure: 'continue' },
    );
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // Claimed directly (no worker runs yet), as a worker's batch would be.
    const jobs = await h.database.sql<{ taskId: string; jobId: string; attempt: number }[]>`
      select id as "taskId", job_id as "jobId", attempt from tasks where execution_id = ${execution.id} order by key`;
    const claimed = await claimTasks(h.ctx, jobs.map((j) => ({ ...j, executionId: execution.id })), 'test-worker', 30);
    expect(claimed).toHaveLength(2);
    const [bad, good] = claimed;
    // An unpaired surrogate reaches recording unchecked (this call skips the worker's own checks): jsonb refuses it.
    const { recorded } = await recordOutcomesIsolated(h.ctx, [
      { taskId: bad!.id, executionId: execution.id, attempt: 1, jobId: bad!.jobId, ok: true, result: { text: 'a\ud800b' } },
      { taskId: good!.id, executionId: execution.id, attempt: 1, jobId: good!.jobId, ok: true, result: { text: 'fine' } },
    ]);
    expect(recorded).toBe(2);
    const done = await h.waitForStatus(execution.id, ['completed']);
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
    expect(byKey.good).toMatchObject({ status: 'completed', result: { text: 'fine' } });
    expect(byKey.bad).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(byKey.bad?.error).toMatch(/^The outcome could not be stored: .*surrogate/i);
  });

  it('a result with \\u0000 fails its own attempt without retry; its batch-mate completes', async () => {
    const runs = new Map<string, number>();
    h.registry.register('research', ({ task }) => {
      runs.set(task.key, (runs.get(task.key) ?? 0) + 1);
      return task.key === 'nul' ? { text: 'before\u0000after' } : { text: 'clean' };
    });
    const ws = await h.workspace();
    const strategyId = await h.strategy(
      ws,
      ['nul', 'clean'].map((key) => ({ key, description: key, agentType: 'research', maxRetries: 3 })),
      { onTaskFailure: 'continue' },
    );
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // Started after both jobs are queued: one fetch takes both, as one batch.
    const worker = await h.startWorker({ defaultQueue: { batchSize: 2, localConcurrency: 1 } });
    const done = await h.waitForStatus(execution.id, ['completed'], 20_000);
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
    expect(byKey.clean).toMatchObject({ status: 'completed', result: { text: 'clean' } });
    expect(byKey.nul).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(byKey.nul?.error).toBe("Result cannot be stored: it contains a NUL character (\\u0000), which PostgreSQL's jsonb refuses");
    expect(Object.fromEntries(runs)).toEqual({ nul: 1, clean: 1 });
    await worker.stop();
  });

  it('a backslash followed by "u0000" is ordinary text and is stored', async () => {
    h.registry.register('analysis', () => ({ text: 'C:\\u0000dir' }));
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [{ key: 'path', description: 'path', agentType: 'analysis' }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const worker = await h.startWorker();
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', result: { text: 'C:\\u0000dir' } });
    await worker.stop();
  });
});
