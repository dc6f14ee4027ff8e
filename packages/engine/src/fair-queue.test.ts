import { describe, expect, it } from 'vitest';
import { REBASE_ABOVE, rebaseQueues } from './fair-queue.ts';
import { blockAt } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { agentQueue, taskJobSchema } from './queue.ts';
import { claimTasks, recordOutcomes } from './runner.ts';
import { useEngineHarness } from './test-harness.ts';
import { assertAllInvariants, type EngineHarness } from './testing.ts';

/**
 * Fairness over time (issue 10, item 8). No worker runs here: `runNext` is one worker slot
 * taking jobs exactly as pg-boss hands them out (its own fetch, in its own order), claiming and
 * completing them, so each test sees the queue's order itself, deterministically.
 */
let h: EngineHarness;
useEngineHarness((harness) => {
  h = harness;
});

const QUEUE = agentQueue('research');
const items = (prefix: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, description: `${prefix}${i}`, agentType: 'research', ...extra }));

/** Runs the next `n` jobs of the research queue one at a time; returns the keys of the tasks they ran. */
async function runNext(n: number): Promise<string[]> {
  const ran: string[] = [];
  for (let i = 0; i < n; i++) {
    const [job] = await h.boss.fetch(QUEUE, { batchSize: 1 });
    if (!job) break;
    const claimed = await claimTasks(h.ctx, [{ ...taskJobSchema.parse(job.data), jobId: job.id }], 'fair-worker', 30);
    for (const task of claimed) {
      await recordOutcomes(h.ctx, [{ taskId: task.id, executionId: task.executionId, attempt: task.attempt, jobId: task.jobId, ok: true, result: { ran: task.key } }]);
      ran.push(task.key);
    }
    await h.boss.complete(QUEUE, job.id);
  }
  return ran;
}

/** The keys of an execution's queued tasks in queue order. */
async function queuedKeys(executionId: string): Promise<string[]> {
  const rows = await h.database.sql<{ key: string }[]>`
    select key from tasks where execution_id = ${executionId} and status = 'assigned' order by queue_tag`;
  return rows.map((r) => r.key);
}

async function runAll(): Promise<string[]> {
  const ran: string[] = [];
  for (;;) {
    const batch = await runNext(50);
    ran.push(...batch);
    if (batch.length < 50) return ran;
  }
}

describe('fairness between workspaces as a backlog drains', () => {
  it("interleaves a workspace's last tasks one for one with another's new ones", async () => {
    const b = await h.workspace('B');
    const a = await h.workspace('A');
    const bRun = await startExecution(h.ctx, { strategyId: await h.strategy(b, items('b', 30)), workspaceId: b });
    expect(await runNext(20)).toEqual(items('b', 20).map((i) => i.key));
    // B has 10 left when A queues 20.
    const aRun = await startExecution(h.ctx, { strategyId: await h.strategy(a, items('a', 20)), workspaceId: a });
    const order = await runAll();
    const alternating = Array.from({ length: 10 }, (_, i) => [`b${20 + i}`, `a${i}`]).flat();
    expect(order).toEqual([...alternating, ...items('a', 20).slice(10).map((i) => i.key)]);
    await h.waitForStatus(bRun.id, ['completed']);
    await h.waitForStatus(aRun.id, ['completed']);
    await assertAllInvariants(h.database.sql);
  });

  it('gives a workspace that comes back after a long pause its turn at once, not after the backlog', async () => {
    const busy = await h.workspace('Busy');
    const back = await h.workspace('Back');
    // Back ran 50 tasks long ago: its clock stands at 50 while Busy's backlog starts far beyond.
    await startExecution(h.ctx, { strategyId: await h.strategy(back, items('old', 50)), workspaceId: back });
    await runAll();
    await startExecution(h.ctx, { strategyId: await h.strategy(busy, items('busy', 200)), workspaceId: busy });
    expect(await runNext(100)).toHaveLength(100);
    await startExecution(h.ctx, { strategyId: await h.strategy(back, items('new', 3)), workspaceId: back });
    const next = await runNext(6);
    expect(next.filter((key) => key.startsWith('new'))).toEqual(['new0', 'new1', 'new2']);
    expect(next.indexOf('new2')).toBeLessThanOrEqual(5);
    await runAll();
  });
});

describe('priority within an execution at any time', () => {
  it('runs high items released late before the low items queued earlier, then the lows in order', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'gate', description: 'gate', agentType: 'research', priority: 'medium' },
      ...items('low', 10, { priority: 'low' }),
      ...['u0', 'u1', 'u2'].map((key) => ({ key, description: key, agentType: 'research', priority: 'high', dependsOn: ['gate'] })),
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const lows = (await queuedKeys(execution.id)).filter((key) => key.startsWith('low'));
    expect(lows).toHaveLength(10);
    expect(await runNext(1)).toEqual(['gate']);
    const order = await runAll();
    expect(order.slice(0, 3), order.join(' ')).toEqual(['u0', 'u1', 'u2']);
    // The lows whose places the highs took run after the rest, none lost or run twice.
    expect(order.slice(3).sort()).toEqual(items('low', 10).map((i) => i.key).sort());
    expect(order.slice(3), order.join(' ')).toEqual([...lows.slice(3), ...lows.slice(0, 3)]);
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.execution.completedTasks).toBe(14);
    await assertAllInvariants(h.database.sql);
  });

  it("keeps the workspace's share: a promotion swaps places, it does not add any", async () => {
    const busy = await h.workspace('Busy');
    const other = await h.workspace('Other');
    const strategyId = await h.strategy(busy, [
      { key: 'gate', description: 'gate', agentType: 'research', priority: 'high' },
      ...items('low', 6, { priority: 'low' }),
      { key: 'urgent', description: 'urgent', agentType: 'research', priority: 'high', dependsOn: ['gate'] },
    ]);
    await startExecution(h.ctx, { strategyId, workspaceId: busy });
    await startExecution(h.ctx, { strategyId: await h.strategy(other, items('o', 6)), workspaceId: other });
    const order = await runAll();
    // One for one between the workspaces throughout; within Busy, urgent right after its gate.
    const owners = order.map((key) => (key.startsWith('o') ? 'other' : 'busy'));
    for (let i = 0; i + 1 < 12; i += 2) expect(new Set(owners.slice(i, i + 2)), order.join(' ')).toEqual(new Set(['busy', 'other']));
    const busyOrder = order.filter((key) => !key.startsWith('o'));
    expect(busyOrder.slice(0, 2)).toEqual(['gate', 'urgent']);
  });

  it('leaves a retry in its backoff where it is: it neither takes nor gives a place', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'gate', description: 'gate', agentType: 'research', priority: 'low' },
      ...items('low', 3, { priority: 'low' }),
      { key: 'urgent', description: 'urgent', agentType: 'research', priority: 'high', dependsOn: ['gate'] },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // gate fails once: its retry waits out a backoff (a deferred job) and must not be promoted over anything.
    const [job] = await h.boss.fetch(QUEUE, { batchSize: 1 });
    const [gate] = await claimTasks(h.ctx, [{ ...taskJobSchema.parse(job!.data), jobId: job!.id }], 'fair-worker', 30);
    expect(gate?.key).toBe('gate');
    await recordOutcomes(h.ctx, [{ taskId: gate!.id, executionId: execution.id, attempt: gate!.attempt, jobId: gate!.jobId, ok: false, error: 'boom', retryable: true }]);
    await h.boss.complete(QUEUE, job!.id);
    expect((await runNext(3)).sort()).toEqual(['low0', 'low1', 'low2']);
    await controlExecution(h.ctx, execution.id, 'cancel');
    await h.waitForStatus(execution.id, ['cancelled']);
  });
});

describe('tags stay within pg-boss priorities', () => {
  it('shifts a queue down once past the limit, keeping its order, and an enqueue in flight waits for it', async () => {
    const a = await h.workspace('A');
    const b = await h.workspace('B');
    // Both workspaces' clocks just below the limit: A's backlog crosses it.
    await h.database.sql`insert into queue_clocks (queue, workspace_id, finish) values
      (${QUEUE}, ${a}, ${REBASE_ABOVE - 2}), (${QUEUE}, ${b}, ${REBASE_ABOVE - 2})`;
    await startExecution(h.ctx, { strategyId: await h.strategy(a, items('a', 6)), workspaceId: a });
    expect(await runNext(3)).toEqual(['a0', 'a1', 'a2']);
    // B's start stops holding the queue's lock in shared mode, before it takes its tags.
    const held = blockAt('fair-queue:before-allocate');
    const bStart = h.strategy(b, items('b', 3)).then((strategyId) => startExecution(h.ctx, { strategyId, workspaceId: b }));
    await held.reached;
    // The rebase cannot take the lock while B's enqueue holds it: it times out and leaves the queue alone.
    expect(await rebaseQueues(h.ctx, 200)).toEqual([]);
    held.release();
    await bStart;
    const [before] = await h.database.sql<{ max: number }[]>`select max(-priority)::float8 as max from pgboss.job where name = ${QUEUE} and state = 'created'`;
    expect(Number(before?.max)).toBeGreaterThan(REBASE_ABOVE);
    expect(await rebaseQueues(h.ctx)).toEqual([QUEUE]);
    const [after] = await h.database.sql<{ max: number; min: number }[]>`
      select max(-priority)::float8 as max, min(-priority)::float8 as min from pgboss.job where name = ${QUEUE} and state = 'created'`;
    expect(Number(after?.max)).toBeLessThan(100);
    expect(Number(after?.min)).toBeGreaterThanOrEqual(0);
    const [clock] = await h.database.sql<{ finish: number }[]>`select max(finish)::float8 as finish from queue_clocks where queue = ${QUEUE}`;
    expect(Number(clock?.finish)).toBeLessThan(100);
    // Same order as before the shift: B's tasks interleave with A's remaining ones.
    const order = await runAll();
    expect(order.filter((k) => k.startsWith('a'))).toEqual(['a3', 'a4', 'a5']);
    expect(order.filter((k) => k.startsWith('b'))).toEqual(['b0', 'b1', 'b2']);
    expect(order.slice(0, 2).sort()).toEqual(['a3', 'b0']);
    await assertAllInvariants(h.database.sql);
  });
});
