import { assertExecutionInvariants, createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { setWorkspaceLimits, startExecution } from '@strata/engine';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../test/processes.ts';

/**
 * Issue 14: limits hold across worker processes. Two real worker processes share a workspace
 * whose email agent is limited to 2 at once and 10 starts per window; the window is 3 s here
 * (STRATA_TEST_LIMIT_WINDOW_MS) instead of the minute production uses, so the test need not
 * wait minutes.
 */
const WINDOW_MS = 3000;
let h: EngineHarness;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  h = await createEngineHarness();
  await h.database.sql`create table test_runs (task_id text, attempt int, pid int, at timestamptz, ended_at timestamptz)`;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
});
afterAll(async () => {
  await h?.close();
});

/** The largest number of intervals open at one instant (an end and a start at the same instant do not overlap). */
function maxOverlap(runs: readonly { start: number; end: number }[]): number {
  const edges = runs.flatMap((r) => [
    { at: r.start, step: 1 },
    { at: r.end, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let peak = 0;
  for (const edge of edges) {
    open += edge.step;
    peak = Math.max(peak, open);
  }
  return peak;
}

/** The most starts in any window of `windowMs` (sorted times). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let peak = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= windowMs) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

describe('limits across two worker processes', () => {
  it('concurrency 2 and 10 starts per window: never more than 2 in progress, never 11 starts in a window, no attempt used while throttled', async () => {
    const env = { STRATA_TEST_LIMIT_WINDOW_MS: String(WINDOW_MS), WORKER_CONCURRENCY: '4' };
    workers.push(await spawnWorker(h.database.url, env), await spawnWorker(h.database.url, env));
    const ws = await h.workspace();
    await setWorkspaceLimits(h.ctx, ws, { agents: { email: { concurrency: 2, perMinute: 10 } } });
    const tasks = 24;
    const strategyId = await h.strategy(
      ws,
      Array.from({ length: tasks }, (_, i) => ({ key: `mail-${i}`, description: `Mail ${i}`, agentType: 'email', input: { delayMs: 120 } })),
    );
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed'], 60_000);
    expect(done.execution.completedTasks).toBe(tasks);

    // What the agents saw, in the database's clock: each run's start and end.
    const runs = await h.database.sql<{ task_id: string; attempt: number; pid: number; start: number; end: number }[]>`
      select r.task_id, r.attempt, r.pid, extract(epoch from r.at) * 1000 as start, extract(epoch from r.ended_at) * 1000 as end
      from test_runs r join tasks t on t.id = r.task_id where t.execution_id = ${execution.id} order by r.at`;
    expect(runs).toHaveLength(tasks);
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2);
    expect(runs.every((r) => r.end !== null)).toBe(true);
    const observed = runs.map((r) => ({ start: Number(r.start), end: Number(r.end) }));
    expect(maxOverlap(observed)).toBeLessThanOrEqual(2);
    expect(maxOverlap(observed)).toBe(2);
    // An agent logs its start a little after its claim: windows a little shorter than the engine's
    // cannot show a legal pair of starts as too close.
    expect(maxInWindow(observed.map((r) => r.start), WINDOW_MS - 250)).toBeLessThanOrEqual(10);

    // The engine's own record of each start (the claim's event, appended under the limit's lock).
    const claims = await h.database.sql<{ at: number }[]>`
      select extract(epoch from created_at) * 1000 as at from execution_events
      where execution_id = ${execution.id} and type = 'task-progress' and data ? 'workerId' order by id`;
    expect(claims).toHaveLength(tasks);
    expect(maxInWindow(claims.map((c) => Number(c.at)), WINDOW_MS - 50)).toBeLessThanOrEqual(10);
    // The window held: 24 starts at 10 per window take more than two windows.
    const first = Number(claims[0]!.at);
    expect(Number(claims.at(-1)!.at) - first).toBeGreaterThan(2 * WINDOW_MS - 100);

    // Throttled by both limits, and not one attempt used for it: every task ran once, attempt 1.
    const events = await h.events(execution.id);
    const limits = new Set(events.filter((e) => (e.data.progress as { status?: string } | undefined)?.status === 'throttled').map((e) => (e.data.progress as { limit: string }).limit));
    expect([...limits].sort()).toEqual(['concurrency', 'perMinute']);
    for (const task of done.tasks) expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    const attempts = await h.database.sql<{ attempt: number; n: number }[]>`select attempt, count(*)::int as n from tasks where execution_id = ${execution.id} group by attempt`;
    expect(attempts).toEqual([{ attempt: 1, n: tasks }]);
    expect(events.filter((e) => e.type === 'task-assigned')).toHaveLength(tasks);
    expect(runs.every((r) => r.attempt === 1)).toBe(true);
    await assertExecutionInvariants(h.database, execution.id);
  });
});
