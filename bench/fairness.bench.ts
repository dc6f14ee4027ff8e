/**
 * Fairness over time (issue 10, item 8): how the engine orders work between workspaces as it
 * drains, and within a workspace when a high-priority item is released late; and what the
 * enqueue-time fairness count costs against a backlog. One worker with one slot, so the order
 * of runs is the order of the queue. Writes bench/results/fairness.json.
 */
import { performance } from 'node:perf_hooks';
import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { percentile, recordPostgres, round, writeResult } from './support.ts';

type Run = { workspaceId: string; key: string };

async function withHarness<T>(fn: (h: EngineHarness) => Promise<T>): Promise<T> {
  const h = await createEngineHarness();
  try {
    // The harness makes its database on TEST_DATABASE_URL's server (the local one by default), not DATABASE_URL's.
    await recordPostgres(h.database.url, 'TEST_DATABASE_URL');
    return await fn(h);
  } finally {
    await h.close();
  }
}

const items = (prefix: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, description: `${prefix}${i}`, agentType: 'research', ...extra }));

/**
 * The case: workspace B has 20 tasks left of 300 when workspace A queues 280 new ones.
 * Fair: B's last 20 interleave with A's new ones. Reports how many of A's ran before B's last.
 */
async function drain(): Promise<{ aBeforeBLast: number; fairAtMost: number }> {
  return withHarness(async (h) => {
    const a = await h.workspace('A');
    const b = await h.workspace('B');
    const runs: Run[] = [];
    const gate = Promise.withResolvers<void>();
    const reached = Promise.withResolvers<void>();
    let bRuns = 0;
    h.registry.register('research', async ({ task }) => {
      if (task.workspaceId === b && ++bRuns === 281) {
        reached.resolve();
        await gate.promise;
      }
      runs.push({ workspaceId: task.workspaceId, key: task.key });
      return null;
    });
    await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const bExecution = await startExecution(h.ctx, { strategyId: await h.strategy(b, items('b', 300)), workspaceId: b });
    await reached.promise;
    const aExecution = await startExecution(h.ctx, { strategyId: await h.strategy(a, items('a', 280)), workspaceId: a });
    const from = runs.length;
    gate.resolve();
    await h.waitForStatus(bExecution.id, ['completed'], 300_000);
    await h.waitForStatus(aExecution.id, ['completed'], 300_000);
    const after = runs.slice(from);
    const bLast = after.findLastIndex((r) => r.workspaceId === b);
    return { aBeforeBLast: after.slice(0, bLast).filter((r) => r.workspaceId === a).length, fairAtMost: 20 };
  });
}

/**
 * Within one workspace: 200 `low` items queued, then a `high` item released by its dependency.
 * Reports how many `low` items ran between its release and its run (ideal: none).
 */
async function lateHigh(): Promise<{ lowBeforeHigh: number }> {
  return withHarness(async (h) => {
    const ws = await h.workspace();
    const runs: Run[] = [];
    h.registry.register('research', ({ task }) => {
      runs.push({ workspaceId: task.workspaceId, key: task.key });
      return null;
    });
    await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const strategyId = await h.strategy(ws, [
      ...items('low', 200, { priority: 'low' }),
      { key: 'gate', description: 'gate', agentType: 'research', priority: 'medium' },
      { key: 'urgent', description: 'urgent', agentType: 'research', priority: 'high', dependsOn: ['gate'] },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed'], 300_000);
    const keys = runs.map((r) => r.key);
    return { lowBeforeHigh: keys.indexOf('urgent') - keys.indexOf('gate') - 1 };
  });
}

/** The cost of starting a one-task execution, with no backlog and beside a large one. */
async function enqueueCost(backlog: number): Promise<{ backlog: number; startMsP50: number; startMsP95: number }> {
  return withHarness(async (h) => {
    const ws = await h.workspace();
    if (backlog > 0) await startExecution(h.ctx, { strategyId: await h.strategy(ws, items('big', backlog)), workspaceId: ws });
    const one = await h.strategy(ws, items('one', 1));
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      await startExecution(h.ctx, { strategyId: one, workspaceId: ws });
      times.push(performance.now() - started);
    }
    times.sort((x, y) => x - y);
    return { backlog, startMsP50: round(percentile(times, 50)), startMsP95: round(percentile(times, 95)) };
  });
}

export async function run(): Promise<void> {
  const result = {
    drain: await drain(),
    lateHigh: await lateHigh(),
    enqueueCost: [await enqueueCost(0), await enqueueCost(10_000)],
  };
  writeResult('fairness', result);
}
