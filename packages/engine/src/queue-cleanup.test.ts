import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

/**
 * Cancel and pause take their tasks' queued jobs with them, in the same transaction (issue 10,
 * item 9). No worker runs until a test starts one, so every job stays queued until then.
 */
let h: EngineHarness;
let ws: string;
const runs = new Map<string, number>();

beforeAll(async () => {
  // A retry backoff of 3 s: ample time to pause while a retry still waits for it.
  h = await createEngineHarness({ retry: { baseMs: 3000, maxMs: 3000 } });
  h.registry.register('content', async ({ task }) => {
    runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
    return { ok: true };
  });
  h.registry.register('email', async ({ task }) => {
    runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
    if (task.attempt === 1) throw new Error('first attempt fails');
    return { ok: true };
  });
  ws = await h.workspace();
});

let workerStarted = false;
async function ensureWorker(): Promise<void> {
  if (workerStarted) return;
  workerStarted = true;
  await h.startWorker({ defaultQueue: { batchSize: 50, localConcurrency: 2 } });
}
afterAll(async () => {
  await h?.close();
});

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, description: `Task ${i}`, agentType: 'content' }));

async function queuedJobs(executionId: string): Promise<number> {
  const [row] = await h.database.sql<{ n: number }[]>`
    select count(*)::int as n from pgboss.job where data->>'executionId' = ${executionId} and state in ('created', 'retry')`;
  return row!.n;
}

describe('queued jobs', () => {
  it('cancel of a 1,000-task execution leaves none of its jobs queued', async () => {
    const strategyId = await h.strategy(ws, items(1000));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    expect(await queuedJobs(execution.id)).toBe(1000);
    await controlExecution(h.ctx, execution.id, 'cancel');
    expect(await queuedJobs(execution.id)).toBe(0);
    const done = await h.waitForStatus(execution.id, ['cancelled']);
    expect(done.tasks.every((t) => t.status === 'skipped')).toBe(true);
  });

  it('pause takes the queued jobs back; resume queues them again and each task runs exactly once', async () => {
    const strategyId = await h.strategy(ws, items(300));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    expect(await queuedJobs(execution.id)).toBe(300);
    await controlExecution(h.ctx, execution.id, 'pause');
    expect(await queuedJobs(execution.id)).toBe(0);
    const paused = await h.waitForStatus(execution.id, ['paused']);
    expect(paused.tasks.every((t) => t.status === 'pending')).toBe(true);

    await ensureWorker();
    await controlExecution(h.ctx, execution.id, 'resume');
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution.completedTasks).toBe(300);
    expect(done.tasks.map((t) => runs.get(t.id))).toEqual(done.tasks.map(() => 1));
    expect(await queuedJobs(execution.id)).toBe(0);
    const assigned = (await h.events(execution.id)).filter((e) => e.type === 'task-assigned');
    // Once at start, once at resume; the first jobs never ran.
    expect(assigned).toHaveLength(600);
  });

  it('pause keeps the job of a retry still in its backoff, so the backoff holds', async () => {
    await ensureWorker();
    const strategyId = await h.strategy(ws, [{ key: 'flaky', description: 'Fails once', agentType: 'email', maxRetries: 2 }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // Until the first attempt has failed and its retry is queued with a backoff.
    for (;;) {
      const [task] = await h.database.sql<{ status: string; retry_count: number }[]>`select status, retry_count from tasks where execution_id = ${execution.id}`;
      if (task?.status === 'assigned' && task.retry_count === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await controlExecution(h.ctx, execution.id, 'pause');
    const [held] = await h.database.sql<{ status: string; queued: number }[]>`
      select t.status, (select count(*)::int from pgboss.job j where j.id = t.job_id::uuid and j.state = 'created' and j.start_after > now()) as queued
      from tasks t where t.execution_id = ${execution.id}`;
    expect(held).toEqual({ status: 'assigned', queued: 1 });
    await controlExecution(h.ctx, execution.id, 'resume');
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(runs.get(done.tasks[0]!.id)).toBe(2);
  });
});
