import { controlExecution, startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countEngineEvents } from './engine-counts.ts';
import { renderMetrics } from './endpoint.ts';
import { createMetrics, type StrataMetrics } from './registry.ts';
import { addStateGauges } from './state-gauges.ts';
import { parseScrape } from './test-scrape.ts';

/**
 * Issue 15: metrics move during a run and equal the database after it. Three executions run
 * through one engine (starts and a cancel as the web would call them) and one worker, in this
 * process: one completes after retries, one fails (its dependent skipped), one is cancelled
 * while a task runs. Every counter is then compared with counts read from the database.
 */
let h: EngineHarness;
let worker: Awaited<ReturnType<EngineHarness['startWorker']>>;
let metrics: StrataMetrics;
const gates = keyedGates();
const attempts = new Map<string, number>();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 10, maxMs: 10 } });
  metrics = createMetrics();
  countEngineEvents(metrics);
  addStateGauges(metrics, h.database.db);
  h.registry.register('email', ({ task }) => ({ sent: task.key }));
  // Fails its first `flaky` attempts, then completes.
  h.registry.register('content', ({ task }) => {
    const n = (attempts.get(task.id) ?? 0) + 1;
    attempts.set(task.id, n);
    if (n <= Number(task.input.flaky ?? 0)) throw new Error(`flaky ${task.key} attempt ${n}`);
    return { text: task.key };
  });
  h.registry.register('research', ({ task }) => {
    throw new Error(`no source for ${task.key}`);
  });
  h.registry.register('analysis', async ({ task }) => {
    await gates.gate(task.key).promise;
    return { analysed: task.key };
  });
  worker = await h.startWorker();
});
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await h?.close();
});

const scrape = async () => parseScrape(await renderMetrics(metrics));

describe('metrics after a run equal the database', () => {
  it('counts starts, finishes by status, tasks by agent type and outcome, retries and durations exactly', async () => {
    const ws = await h.workspace();
    const completes = await h.strategy(ws, [
      { key: 'e1', description: 'e1', agentType: 'email' },
      { key: 'c1', description: 'c1', agentType: 'content', input: { flaky: 2 }, maxRetries: 3, dependsOn: ['e1'] },
      { key: 'e2', description: 'e2', agentType: 'email' },
    ]);
    const fails = await h.strategy(ws, [
      { key: 'r1', description: 'r1', agentType: 'research', maxRetries: 1 },
      { key: 'e3', description: 'e3', agentType: 'email', dependsOn: ['r1'] },
    ]);
    const cancels = await h.strategy(ws, [
      { key: 'g1', description: 'g1', agentType: 'analysis' },
      { key: 'e4', description: 'e4', agentType: 'email', dependsOn: ['g1'] },
    ]);

    const before = await scrape();
    expect(before.value('strata_executions_started_total')).toBe(0);

    const a = await startExecution(h.ctx, { strategyId: completes, workspaceId: ws });
    const b = await startExecution(h.ctx, { strategyId: fails, workspaceId: ws });
    const c = await startExecution(h.ctx, { strategyId: cancels, workspaceId: ws });
    await h.waitForStatus(a.id, ['completed']);
    await h.waitForStatus(b.id, ['failed']);

    // During the run: the gated analysis task is in progress, its execution not finished.
    const during = await until('the analysis task to be in progress in a scrape', async () => {
      const s = await scrape();
      return s.value('strata_tasks_in_progress', { agent_type: 'analysis' }) === 1 ? s : undefined;
    });
    expect(during.value('strata_executions_started_total')).toBe(3);
    expect(during.value('strata_executions_finished_total', { status: 'cancelled' })).toBe(0);
    expect(during.value('strata_executions_finished_total', { status: 'completed' })).toBe(1);

    await controlExecution(h.ctx, c.id, 'cancel');
    gates.gate('g1').resolve();
    await h.waitForStatus(c.id, ['cancelled']);

    const after = await scrape();
    const db = h.database.sql;
    const [started] = await db<{ n: number }[]>`select count(*)::int as n from executions`;
    expect(after.value('strata_executions_started_total')).toBe(started!.n);

    const finished = await db<{ status: string; n: number }[]>`select status, count(*)::int as n from executions where completed_at is not null group by status`;
    expect(after.table('strata_executions_finished_total', ['status'])).toEqual(Object.fromEntries(finished.map((r) => [r.status, r.n])));
    expect(Object.fromEntries(finished.map((r) => [r.status, r.n]))).toEqual({ completed: 1, failed: 1, cancelled: 1 });

    const tasks = await db<{ key: string; n: number }[]>`
      select agent_type || '/' || status as key, count(*)::int as n from tasks where status in ('completed', 'failed', 'skipped') group by 1`;
    expect(after.table('strata_tasks_finished_total', ['agent_type', 'outcome'])).toEqual(Object.fromEntries(tasks.map((r) => [r.key, r.n])));
    // e1, e2, c1, g1 completed; r1 failed; e3 and e4 skipped.
    expect(Object.fromEntries(tasks.map((r) => [r.key, r.n]))).toEqual({ 'email/completed': 2, 'content/completed': 1, 'analysis/completed': 1, 'research/failed': 1, 'email/skipped': 2 });

    const retries = await db<{ agentType: string; n: number }[]>`
      select agent_type as "agentType", sum(retry_count)::int as n from tasks group by agent_type having sum(retry_count) > 0`;
    expect(after.table('strata_task_retries_total', ['agent_type'])).toEqual(Object.fromEntries(retries.map((r) => [r.agentType, r.n])));
    expect(Object.fromEntries(retries.map((r) => [r.agentType, r.n]))).toEqual({ content: 2, research: 1 });

    const completed = await db<{ agentType: string; n: number }[]>`select agent_type as "agentType", count(*)::int as n from tasks where status = 'completed' group by agent_type`;
    // Histogram counts from prom-client itself (the text parser folds histogram series together).
    const durations = (await metrics.taskDuration.get()).values.filter((v) => v.metricName === 'strata_task_duration_seconds_count');
    expect(Object.fromEntries(durations.map((v) => [v.labels.agent_type, v.value]))).toEqual(Object.fromEntries(completed.map((r) => [r.agentType, r.n])));

    // Nothing runs or waits any more.
    expect(after.value('strata_tasks_in_progress', { agent_type: 'analysis' })).toBe(0);
    for (const type of ['email', 'content', 'research', 'analysis']) expect(after.value('strata_queue_jobs', { agent_type: type, state: 'ready' })).toBe(0);
    expect(after.value('strata_approvals_waiting')).toBe(0);
  });

  it('reads queue depth and the oldest job age from pg-boss at scrape', async () => {
    // No worker runs now: the jobs wait in their queue.
    await worker.stop();
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 's1', description: 's1', agentType: 'scheduling' },
      { key: 's2', description: 's2', agentType: 'scheduling' },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const s = await scrape();
    expect(s.value('strata_queue_jobs', { agent_type: 'scheduling', state: 'ready' })).toBe(2);
    expect(s.value('strata_queue_oldest_ready_job_age_seconds', { agent_type: 'scheduling' })).toBeGreaterThanOrEqual(0);
    await controlExecution(h.ctx, execution.id, 'cancel');
    expect((await scrape()).value('strata_queue_jobs', { agent_type: 'scheduling', state: 'ready' })).toBe(0);
  });
});
