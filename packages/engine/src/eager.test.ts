import { describe, expect, it } from 'vitest';
import { blockAt, onHook } from './hooks.ts';
import { startExecution } from './lifecycle.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, until } from './testing.ts';

/** Issue 12: a dependent released by a completion runs in the lane that completion freed. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

async function start(workspaceId: string, items: { key: string; agentType: string; dependsOn?: string[] }[]) {
  const strategyId = await h.strategy(
    workspaceId,
    items.map((item) => ({ description: item.key, maxRetries: 0, ...item })),
  );
  return startExecution(h.ctx, { strategyId, workspaceId });
}

const chain = (n: number, agentType = 'content') => Array.from({ length: n }, (_, i) => ({ key: `c${i}`, agentType, dependsOn: i === 0 ? [] : [`c${i - 1}`] }));

/** The pg-boss jobs ever queued for these tasks' current attempts. */
async function jobsOf(executionId: string) {
  return h.database.sql<{ key: string; queued: boolean }[]>`
    select t.key, exists (select 1 from pgboss.job j where j.id = t.job_id::uuid) as queued
    from tasks t where t.execution_id = ${executionId} order by t.ordinal`;
}

describe('eager dispatch', () => {
  it('runs a released dependent at once in the same worker, without a job, with the same events as a queued task', async () => {
    const ran: string[] = [];
    h.registry.register('content', ({ task }) => {
      ran.push(task.key);
      return task.key;
    });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const execution = await start(await h.workspace(), chain(5));
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.execution.status).toBe('completed');
    expect(ran).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    // Only the root went through the queue; every dependent was claimed by the completion before it.
    expect(await jobsOf(execution.id)).toEqual([
      { key: 'c0', queued: true },
      ...['c1', 'c2', 'c3', 'c4'].map((key) => ({ key, queued: false })),
    ]);
    for (const task of done.tasks) expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    const perTask = (await h.events(execution.id))
      .filter((e) => e.type.startsWith('task-') && e.data.taskId === done.tasks.find((t) => t.key === 'c3')?.id)
      .map((e) => `${e.type}:${e.data.status ?? e.data.attempt}`);
    expect(perTask).toEqual(['task-assigned:1', 'task-progress:in_progress', 'task-completed:completed']);
    await worker.stop();
  });

  it('leaves the dependent to the queue while another job waits there (fair order first)', async () => {
    const other = await h.workspace('Other');
    const releaseHead = blockAt('worker:after-claim', { match: (info) => (info.taskIds as string[]).length === 1, times: 1 });
    const ran: string[] = [];
    h.registry.register('content', ({ task }) => {
      ran.push(task.key);
      return task.key;
    });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const execution = await start(await h.workspace(), chain(2));
    // c0 is claimed and held; meanwhile another workspace queues a job of the same agent type.
    await releaseHead.reached;
    const waiting = await start(other, [{ key: 'other', agentType: 'content' }]);
    releaseHead.release();
    await h.waitForStatus(execution.id, ['completed']);
    await h.waitForStatus(waiting.id, ['completed']);
    // c1 was queued behind the other workspace's job, which ran first.
    expect(await jobsOf(execution.id)).toEqual([
      { key: 'c0', queued: true },
      { key: 'c1', queued: true },
    ]);
    expect(ran).toEqual(['c0', 'other', 'c1']);
    releaseHead.remove();
    await worker.stop();
  });

  it('a lost acknowledgement of the recording picks up what it claimed: run once, not charged', async () => {
    let runs = 0;
    h.registry.register('content', () => ++runs);
    let lostOnce = false;
    onHook('runner:after-record-commit', (info) => {
      if (!lostOnce && (info.claimed as string[]).length > 0) {
        lostOnce = true;
        throw Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
      }
    });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const execution = await start(await h.workspace(), chain(3));
    const done = await h.waitForStatus(execution.id, ['completed', 'failed'], 30_000);
    expect(lostOnce).toBe(true);
    expect(done.execution.status).toBe('completed');
    expect(runs).toBe(3);
    const attempts = await h.database.sql<{ attempt: number; retry_count: number }[]>`select attempt, retry_count from tasks where execution_id = ${execution.id}`;
    expect(attempts).toEqual(Array(3).fill({ attempt: 1, retry_count: 0 }));
    expect((await h.events(execution.id)).filter((e) => e.type === 'task-failed')).toEqual([]);
    await worker.stop();
  });

  it('a worker that is stopping claims nothing more: the dependent goes to the queue for the next worker', async () => {
    const entered = Promise.withResolvers<void>();
    const finish = Promise.withResolvers<string>();
    h.registry.register('content', ({ task }) => {
      if (task.key !== 'c0') return task.key;
      entered.resolve();
      return finish.promise;
    });
    const first = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const execution = await start(await h.workspace(), chain(2));
    await entered.promise;
    // Hold the recording of c0 until stop() has begun; c0 still completes (it finished before the abort reached it).
    const recording = blockAt('worker:before-record', { times: 1 });
    finish.resolve('c0');
    await recording.reached;
    const stopped = first.stop();
    recording.release();
    await stopped;
    const [c1] = await h.database.sql<{ status: string; queued: boolean }[]>`
      select status, exists (select 1 from pgboss.job j where j.id = t.job_id::uuid) as queued from tasks t where execution_id = ${execution.id} and key = 'c1'`;
    expect(c1).toEqual({ status: 'assigned', queued: true });
    const second = await h.startWorker();
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.execution.status).toBe('completed');
    recording.remove();
    await second.stop();
  });

  it('gives a free lane to the highest-priority dependent released, the rest to the queue in priority order', async () => {
    const ran: string[] = [];
    h.registry.register('content', ({ task }) => {
      ran.push(task.key);
      return task.key;
    });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const workspaceId = await h.workspace();
    const strategyId = await h.strategy(workspaceId, [
      { key: 'root', description: 'root', agentType: 'content', maxRetries: 0 },
      { key: 'low', description: 'low', agentType: 'content', priority: 'low', dependsOn: ['root'], maxRetries: 0 },
      { key: 'medium', description: 'medium', agentType: 'content', priority: 'medium', dependsOn: ['root'], maxRetries: 0 },
      { key: 'high', description: 'high', agentType: 'content', priority: 'high', dependsOn: ['root'], maxRetries: 0 },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    await h.waitForStatus(execution.id, ['completed']);
    expect(ran).toEqual(['root', 'high', 'medium', 'low']);
    const queued = Object.fromEntries((await jobsOf(execution.id)).map((row) => [row.key, row.queued]));
    expect(queued).toEqual({ root: true, high: false, medium: true, low: true });
    await worker.stop();
  });

  it('can be turned off: every task goes through the queue', async () => {
    h.registry.register('content', ({ task }) => task.key);
    const worker = await h.startWorker({ eagerDispatch: false });
    const execution = await start(await h.workspace(), chain(3));
    await h.waitForStatus(execution.id, ['completed']);
    expect((await jobsOf(execution.id)).every((row) => row.queued)).toBe(true);
    await until('the worker to hold nothing', () => worker.inFlight().running.length === 0);
    await worker.stop();
  });
});
