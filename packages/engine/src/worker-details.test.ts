import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockAt, } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { useEngineHarness } from './test-harness.ts';
import { createEngineHarness, type EngineHarness, until } from './testing.ts';

/** Item 13 of issue 10: the smaller worker guarantees. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

async function start(harness: EngineHarness, items: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  const ws = await harness.workspace();
  const strategyId = await harness.strategy(
    ws,
    items.map((item) => ({ description: String(item.key), ...item })) as never,
    extra,
  );
  return startExecution(harness.ctx, { strategyId, workspaceId: ws });
}

describe('a retry while paused', () => {
  let slow: EngineHarness;
  beforeAll(async () => {
    slow = await createEngineHarness({ retry: { baseMs: 10_000, maxMs: 10_000 } });
    slow.registry.register('email', () => {
      throw new Error('smtp down');
    });
    await slow.startWorker();
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('keeps its backoff after resume', async () => {
    const record = blockAt('worker:before-record', { match: (info) => (info.outcomes as { ok: unknown }[]).some((o) => o.ok === false) });
    const execution = await start(slow, [{ key: 'mail', agentType: 'email', maxRetries: 2 }]);
    await record.reached;
    await controlExecution(slow.ctx, execution.id, 'pause');
    record.release();
    await until('the failure to be recorded', async () => (await slow.events(execution.id)).some((e) => e.type === 'task-failed'));
    await controlExecution(slow.ctx, execution.id, 'resume');
    const [job] = await slow.database.sql<{ state: string; delay: number }[]>`
      select j.state, extract(epoch from j.start_after - now())::float8 as delay
      from tasks t join pgboss.job j on j.id = t.job_id::uuid where t.execution_id = ${execution.id}`;
    expect(job?.state).toBe('created');
    // About 10 s of backoff remain (the pause took milliseconds), not 0.
    expect(job?.delay).toBeGreaterThan(8);
    await controlExecution(slow.ctx, execution.id, 'cancel');
  });
});

describe('a batch of several tasks', () => {
  it("records a fast task's outcome without waiting for its slowest batch-mate", async () => {
    const slowMayEnd = Promise.withResolvers<void>();
    h.registry.register('content', async ({ task }) => {
      if (task.key === 'slow') await slowMayEnd.promise;
      return task.key;
    });
    const execution = await start(h, [
      { key: 'fast', agentType: 'content' },
      { key: 'slow', agentType: 'content' },
    ]);
    // Started after both jobs are queued: one fetch takes both.
    const worker = await h.startWorker({ defaultQueue: { batchSize: 2, localConcurrency: 1 } });
    await until('the fast task to complete while the slow one runs', async () => {
      const rows = await h.database.sql<{ key: string; status: string }[]>`select key, status from tasks where execution_id = ${execution.id}`;
      const byKey = Object.fromEntries(rows.map((r) => [r.key, r.status]));
      return byKey.fast === 'completed' && byKey.slow === 'in_progress';
    });
    slowMayEnd.resolve();
    await h.waitForStatus(execution.id, ['completed']);
    await worker.stop();
  });
});

describe('agent errors', () => {
  it('recognises NonRetryableError by its name (an agent with its own copy of the engine)', async () => {
    let runs = 0;
    h.registry.register('research', () => {
      runs++;
      const error = new Error('bad request');
      error.name = 'NonRetryableError';
      throw error;
    });
    const worker = await h.startWorker();
    const execution = await start(h, [{ key: 'once', agentType: 'research', maxRetries: 3 }]);
    const done = await h.waitForStatus(execution.id, ['failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'failed', retry_count: 0, error: 'bad request' });
    expect(runs).toBe(1);
    await worker.stop();
  });

  it("passes an agent's snake_case error code on in task-failed events, and no socket code", async () => {
    let runs = 0;
    h.registry.register('content', () => {
      runs++;
      if (runs === 1) throw Object.assign(new Error('no network: check the connection'), { code: 'network_unavailable' });
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', name: 'NonRetryableError' });
    });
    const worker = await h.startWorker();
    const execution = await start(h, [{ key: 'coded', agentType: 'content', maxRetries: 1 }]);
    await h.waitForStatus(execution.id, ['failed']);
    const failures = (await h.events(execution.id)).filter((e) => e.type === 'task-failed').map((e) => e.data);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({ willRetry: true, code: 'network_unavailable', error: 'no network: check the connection' });
    expect(failures[1]).toMatchObject({ status: 'failed', error: 'connect ECONNREFUSED' });
    expect(failures[1]).not.toHaveProperty('code');
    await worker.stop();
  });

  it('fails a task whose agent type this worker does not register, saying what to do, coded agent_not_registered', async () => {
    const worker = await h.startWorker();
    // A type the strategy accepts (the web knows it) but this worker's registry does not hold.
    const execution = await start(h, [{ key: 'orphan', agentType: 'scheduling', maxRetries: 3 }]);
    const done = await h.waitForStatus(execution.id, ['failed']);
    expect(done.tasks[0]?.error).toBe('No agent is registered for type "scheduling" on this worker: add the module that registers it to STRATA_AGENT_MODULES and restart the worker');
    const failed = (await h.events(execution.id)).find((e) => e.type === 'task-failed');
    expect(failed?.data).toMatchObject({ status: 'failed', code: 'agent_not_registered' });
    await worker.stop();
  });

  it('a timed-out agent that ignores its signal does not run beside its retry; its late result is discarded', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const zombieMayEnd = Promise.withResolvers<void>();
    h.registry.register('analysis', async ({ task }) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      try {
        if (task.attempt === 1) {
          await zombieMayEnd.promise; // ignores its signal
          return 'late';
        }
        return 'fresh';
      } finally {
        concurrent--;
      }
    });
    const worker = await h.startWorker();
    const waiting = blockAt('worker:waiting-for-previous-attempt', { times: 1 });
    const execution = await start(h, [{ key: 'zombie', agentType: 'analysis', timeoutSeconds: 1, maxRetries: 1 }]);
    await waiting.reached;
    expect(concurrent).toBe(1);
    zombieMayEnd.resolve();
    waiting.release();
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', retry_count: 1, result: 'fresh' });
    expect(maxConcurrent).toBe(1);
    await until('the worker to hold nothing', () => worker.inFlight().running.length === 0 && worker.inFlight().lost.length === 0);
    await worker.stop();
  });
});
