import { afterEach, describe, expect, it } from 'vitest';
import type { AgentHandler } from '../agent.ts';
import { sql } from 'drizzle-orm';
import { blockAt } from '../hooks.ts';
import { lockExecutions, transaction } from '../tx.ts';
import { wakeWaitingTasks } from '../waits/wake.ts';
import { controlExecution, startExecution } from '../lifecycle.ts';
import { useEngineHarness } from '../test-harness.ts';
import { assertExecutionInvariants, type EngineHarness, keyedGates, until } from '../testing.ts';
import { LIMITS_LOCK_CLASS } from './scopes.ts';
import { setWorkspaceLimits } from './settings.ts';

/** Issue 14, load under control: limits per workspace and agent type, per execution, per key. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

type Item = { key: string; agentType?: string; input?: Record<string, unknown>; concurrencyKey?: string; keyConcurrency?: number; keyPerMinute?: number };

async function start(workspaceId: string, items: Item[], extra: { maxConcurrency?: number } = {}) {
  const strategyId = await h.strategy(
    workspaceId,
    items.map((item) => ({ description: item.key, agentType: 'email', maxRetries: 0, ...item })),
    extra,
  );
  return startExecution(h.ctx, { strategyId, workspaceId });
}

/** An agent that counts what runs at once (overall and per `input.to`) and waits until the test releases it. */
function gatedAgent() {
  const gates = new Map<string, PromiseWithResolvers<void>>();
  const running = new Map<string, { key: string; to: string }>();
  let peak = 0;
  const peakPer = new Map<string, number>();
  const handler: AgentHandler = async ({ task }) => {
    const to = String(task.input.to ?? '');
    const gate = Promise.withResolvers<void>();
    gates.set(task.id, gate);
    running.set(task.id, { key: task.key, to });
    peak = Math.max(peak, running.size);
    peakPer.set(to, Math.max(peakPer.get(to) ?? 0, [...running.values()].filter((v) => v.to === to).length));
    await gate.promise;
    running.delete(task.id);
    return task.key;
  };
  return {
    handler,
    /** The keys of the tasks running now. */
    running: () => [...running.values()].map((r) => r.key).sort(),
    peak: () => peak,
    peakPer: (to: string) => peakPer.get(to) ?? 0,
    /** Lets the running tasks with this key finish. */
    release: (key: string) => {
      for (const [id, r] of running) if (r.key === key) gates.get(id)?.resolve();
    },
    releaseAll: () => {
      for (const g of gates.values()) g.resolve();
    },
  };
}

/** Each test's scene, ended after the test however it went: a worker left running would claim the next test's tasks. */
const scenes: { agent: ReturnType<typeof gatedAgent>; worker: Awaited<ReturnType<EngineHarness['startWorker']>> }[] = [];
afterEach(async () => {
  for (const { agent, worker } of scenes.splice(0)) {
    agent.releaseAll();
    await worker.stop();
  }
});

/** A workspace (with these limits), a gated agent for `agentType` and a worker with `slots` lanes. */
async function scene(agentType: string, slots: number, agents?: Parameters<typeof setWorkspaceLimits>[2]) {
  const ws = await h.workspace();
  if (agents) await setWorkspaceLimits(h.ctx, ws, agents);
  const agent = gatedAgent();
  h.registry.register(agentType, agent.handler);
  const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: slots } });
  scenes.push({ agent, worker });
  return { ws, agent, worker };
}

async function taskRows(executionId: string) {
  return h.database.sql<{ key: string; status: string; attempt: number; retry_count: number; throttle_scope: string | null; progress: Record<string, unknown> | null }[]>`
    select key, status, attempt, retry_count, throttle_scope, progress from tasks where execution_id = ${executionId} order by key`;
}

const throttled = async (executionId: string) => (await taskRows(executionId)).filter((t) => t.throttle_scope !== null);

/** Lets one running task finish at a time until the executions end, checking at each step that no more than `max` run. */
async function drain(agent: ReturnType<typeof gatedAgent>, executionIds: string[], max: number, perExecution = false) {
  for (;;) {
    const open = await h.database.sql`select 1 from executions where id = any(${executionIds}) and completed_at is null`;
    if (open.length === 0) return;
    const running = agent.running();
    if (!perExecution) expect(running.length).toBeLessThanOrEqual(max);
    const counts = await h.database.sql<{ n: number }[]>`
      select count(*)::int as n from tasks where execution_id = any(${executionIds}) and status = 'in_progress' and wake_at is null
      group by ${perExecution ? h.database.sql`execution_id` : h.database.sql`workspace_id`}`;
    for (const row of counts) expect(row.n).toBeLessThanOrEqual(max);
    if (running.length > 0) agent.release(running[0]!);
    else await new Promise((r) => setTimeout(r, 10));
  }
}

describe('workspace limits per agent type', () => {
  it('holds concurrency across the workspace: the rest sleep throttled, without a slot or an attempt, and start as slots free', async () => {
    const { ws, agent, worker } = await scene('email', 6, { agents: { email: { concurrency: 2 } } });
    const execution = await start(
      ws,
      Array.from({ length: 6 }, (_, i) => ({ key: `m${i}` })),
    );
    await until('two running and four throttled', async () => agent.running().length === 2 && (await throttled(execution.id)).length === 4);
    for (const task of await throttled(execution.id)) {
      expect(task).toMatchObject({ status: 'assigned', attempt: 1, retry_count: 0, progress: { status: 'throttled', limit: 'concurrency', agentType: 'email', max: 2 } });
    }
    // Every worker slot is free again: a throttled task holds none.
    expect(worker.inFlight().running).toHaveLength(2);
    await drain(agent, [execution.id], 2);
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(agent.peak()).toBe(2);
    for (const task of await taskRows(execution.id)) expect(task).toMatchObject({ status: 'completed', attempt: 1, retry_count: 0, throttle_scope: null, progress: null });
    expect(done.execution.completedTasks).toBe(6);
    // The live view was told: each throttled task once, naming the limit, with its status unchanged.
    const events = await h.events(execution.id);
    const notices = events.filter((e) => e.type === 'task-progress' && (e.data.progress as { status?: string } | undefined)?.status === 'throttled');
    expect(notices.length).toBeGreaterThanOrEqual(4);
    expect(notices[0]!.data).toMatchObject({ status: 'assigned', agentType: 'email', progress: { status: 'throttled', limit: 'concurrency', max: 2 } });
    await assertExecutionInvariants(h.database, execution.id);
    await worker.stop();
  });

  it('holds starts per rolling window and starts each held task when the window opens', async () => {
    const ws = await h.workspace();
    await setWorkspaceLimits(h.ctx, ws, { agents: { research: { perMinute: 3 } } });
    const windowMs = 1500;
    const startedAt: number[] = [];
    h.registry.register('research', () => {
      startedAt.push(Date.now());
      return 'ok';
    });
    const worker = await h.startWorker({ ctx: { ...h.ctx, limitWindowMs: windowMs }, defaultQueue: { batchSize: 1, localConcurrency: 4 } });
    const execution = await start(
      ws,
      Array.from({ length: 7 }, (_, i) => ({ key: `r${i}`, agentType: 'research' })),
    );
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(startedAt).toHaveLength(7);
    startedAt.sort((a, b) => a - b);
    // No window (less the agents' own delay after their claim) holds more than 3 starts.
    for (let i = 3; i < startedAt.length; i++) expect(startedAt[i]! - startedAt[i - 3]!).toBeGreaterThan(windowMs - 150);
    // And each batch started when its window opened, not on a slow poll.
    expect(startedAt[3]! - startedAt[0]!).toBeLessThan(windowMs + 1200);
    expect(startedAt[6]! - startedAt[3]!).toBeLessThan(windowMs + 1200);
    const notices = (await h.events(execution.id)).filter((e) => (e.data.progress as { limit?: string } | undefined)?.limit === 'perMinute');
    expect(notices.length).toBeGreaterThan(0);
    expect(Date.parse(String((notices[0]!.data.progress as { retryAt: string }).retryAt))).toBeGreaterThan(startedAt[0]! - 1000);
    for (const task of await taskRows(execution.id)) expect(task).toMatchObject({ attempt: 1, retry_count: 0 });
    await assertExecutionInvariants(h.database, execution.id);
    await worker.stop();
  });

  it('counts what already runs when a limit is set, and wakes sleepers when it is raised', async () => {
    const { ws, agent, worker } = await scene('email', 6);
    const first = await start(ws, [{ key: 'a1' }, { key: 'a2' }, { key: 'a3' }]);
    await until('three running without limits', () => agent.running().length === 3);
    await setWorkspaceLimits(h.ctx, ws, { agents: { email: { concurrency: 3 } } });
    const second = await start(ws, [{ key: 'b1' }, { key: 'b2' }]);
    // The three that started before the limit fill it.
    await until('both throttled', async () => (await throttled(second.id)).length === 2);
    expect(agent.running()).toEqual(['a1', 'a2', 'a3']);
    await setWorkspaceLimits(h.ctx, ws, { agents: { email: { concurrency: 4 } } });
    await until('one woken by the raise', () => agent.running().length === 4, 5000);
    await setWorkspaceLimits(h.ctx, ws, { agents: {} });
    await until('the last woken when the limit goes', () => agent.running().length === 5, 5000);
    agent.releaseAll();
    await h.waitForStatus(first.id, ['completed']);
    await h.waitForStatus(second.id, ['completed']);
    for (const task of await taskRows(second.id)) expect(task).toMatchObject({ attempt: 1, retry_count: 0, progress: null });
    await assertExecutionInvariants(h.database, second.id);
    await worker.stop();
  });
});

describe('maxConcurrency per execution', () => {
  it('holds each execution to its strategy version’s cap, independently of the others', async () => {
    const { ws, agent, worker } = await scene('email', 8);
    const items = Array.from({ length: 4 }, (_, i) => ({ key: `t${i}` }));
    const strategyId = await h.strategy(
      ws,
      items.map((item) => ({ ...item, description: item.key, agentType: 'email' })),
      { maxConcurrency: 2 },
    );
    const [a, b] = [await startExecution(h.ctx, { strategyId, workspaceId: ws }), await startExecution(h.ctx, { strategyId, workspaceId: ws })];
    await until('two of each running', async () => agent.running().length === 4 && (await throttled(a.id)).length === 2 && (await throttled(b.id)).length === 2);
    expect((await throttled(a.id))[0]!.progress).toMatchObject({ status: 'throttled', limit: 'maxConcurrency', max: 2 });
    await drain(agent, [a.id, b.id], 2, true);
    expect(agent.peak()).toBe(4);
    await assertExecutionInvariants(h.database, a.id);
    await assertExecutionInvariants(h.database, b.id);
    await worker.stop();
  });
});

describe('limits per concurrency key', () => {
  it('holds one recipient to its key’s limit across executions while another recipient runs freely', async () => {
    const ws = await h.workspace();
    const agent = gatedAgent();
    h.registry.register('email', agent.handler);
    const limited = (key: string) => ({ key, input: { to: 'ann@example.com' }, concurrencyKey: '{{to}}', keyConcurrency: 1 });
    const free = (key: string) => ({ key, input: { to: 'bob@example.com' } });
    const one = await start(ws, [limited('a1'), limited('a2'), free('b1'), free('b2')]);
    const two = await start(ws, [limited('a3'), free('b3')]);
    // Ann's other two tasks are held as each is claimed. Forced here: their claims wait until bob's
    // three and ann's first run (a claim that came after them once failed this test's count).
    const annTasks = new Set((await h.database.sql<{ id: string }[]>`select id from tasks where execution_id in (${one.id}, ${two.id}) and key like 'a%'`).map((t) => t.id));
    let annClaims = 0;
    const laterClaims = blockAt('runner:before-claim', { match: (info) => (info.taskIds as string[]).some((id) => annTasks.has(id)) && ++annClaims > 1 });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 8 } });
    scenes.push({ agent, worker });
    await until('one for ann, three for bob', () => agent.running().length === 4);
    expect(agent.running()).toEqual(expect.arrayContaining(['b1', 'b2', 'b3']));
    laterClaims.release();
    const heldOf = async () => [...(await throttled(one.id)), ...(await throttled(two.id))];
    await until('ann’s other two held', async () => (await heldOf()).length === 2);
    expect(agent.running()).toHaveLength(4);
    const held = await heldOf();
    expect(held).toHaveLength(2);
    for (const task of held) expect(task.progress).toMatchObject({ status: 'throttled', limit: 'keyConcurrency', key: 'ann@example.com', max: 1 });
    expect(held[0]!.throttle_scope).toBe(`key:${ws}:ann@example.com`);
    await drain(agent, [one.id, two.id], 4);
    expect(agent.peakPer('ann@example.com')).toBe(1);
    expect(agent.peakPer('bob@example.com')).toBe(3);
    await assertExecutionInvariants(h.database, one.id);
    await assertExecutionInvariants(h.database, two.id);
    await worker.stop();
  });
});

describe('throttled tasks and control', () => {
  it('a throttled task is skipped on cancel, its sleeping job cancelled; what runs finishes', async () => {
    const { ws, agent, worker } = await scene('email', 4, { agents: { email: { concurrency: 1 } } });
    const execution = await start(ws, [{ key: 'c1' }, { key: 'c2' }, { key: 'c3' }]);
    await until('one running, two throttled', async () => agent.running().length === 1 && (await throttled(execution.id)).length === 2);
    const sleeping = await h.database.sql<{ key: string; state: string }[]>`
      select t.key, j.state from tasks t join pgboss.job j on j.id = t.job_id::uuid where t.execution_id = ${execution.id} and t.throttle_scope is not null`;
    expect(sleeping.map((s) => s.state)).toEqual(['created', 'created']);
    await controlExecution(h.ctx, execution.id, 'cancel');
    const rows = await taskRows(execution.id);
    expect(rows.filter((t) => t.status === 'skipped').map((t) => ({ attempt: t.attempt, retry: t.retry_count, scope: t.throttle_scope, progress: t.progress }))).toEqual([
      { attempt: 1, retry: 0, scope: null, progress: null },
      { attempt: 1, retry: 0, scope: null, progress: null },
    ]);
    const [live] = await h.database.sql<{ n: number }[]>`
      select count(*)::int as n from pgboss.job j where j.name = 'agent.email' and j.state = 'created' and j.data->>'executionId' = ${execution.id}`;
    expect(live!.n).toBe(0);
    agent.releaseAll();
    const done = await h.waitForStatus(execution.id, ['cancelled']);
    expect(done.tasks.filter((t) => t.status === 'completed')).toHaveLength(1);
    await assertExecutionInvariants(h.database, execution.id);
    await worker.stop();
  });

  it('pause keeps a throttled task from starting when its slot frees; resume runs it', async () => {
    const { ws, agent, worker } = await scene('email', 4, { agents: { email: { concurrency: 1 } } });
    const execution = await start(ws, [{ key: 'p1' }, { key: 'p2' }]);
    await until('one running, one throttled', async () => agent.running().length === 1 && (await throttled(execution.id)).length === 1);
    const [running] = agent.running();
    await controlExecution(h.ctx, execution.id, 'pause');
    // The slot frees while paused: the sleeper is woken, and its claim sends it back to ready instead of running it.
    agent.release(running!);
    await until('the sleeper back to ready, no longer throttled', async () => {
      const rows = await taskRows(execution.id);
      return rows.some((t) => t.status === 'pending' && t.throttle_scope === null && t.progress === null) && rows.some((t) => t.status === 'completed');
    });
    expect(agent.running()).toEqual([]);
    await controlExecution(h.ctx, execution.id, 'resume');
    await until('the second runs after resume', () => agent.running().length === 1);
    agent.releaseAll();
    await h.waitForStatus(execution.id, ['completed']);
    await assertExecutionInvariants(h.database, execution.id);
    await worker.stop();
  });

  it('a task in a durable wait holds no slot; when its wait ends while the slot is taken it is throttled, then resumes', async () => {
    const ws = await h.workspace();
    await setWorkspaceLimits(h.ctx, ws, { agents: { analysis: { concurrency: 1 } } });
    const gates = keyedGates();
    const started = new Set<string>();
    h.registry.register('analysis', async ({ task, wait }) => {
      // A long wait, ended by the test once the other task holds the slot (no race with the clock).
      if (task.key === 'waiter' && !task.resumedFromWait) wait(new Date(Date.now() + 60_000));
      started.add(task.key);
      await gates.gate(task.key).promise;
      return task.key;
    });
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 4 } });
    // The waiter first, alone: nothing else can take the slot before it begins to wait.
    const execution = await start(ws, [{ key: 'waiter', agentType: 'analysis' }]);
    await until('the waiter waiting', async () => {
      const [row] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from tasks where execution_id = ${execution.id} and wake_at is not null`;
      return row!.n === 1;
    });
    // While the waiter waits it holds no slot: another execution's task of the workspace takes the only one.
    const other = await start(ws, [{ key: 'other', agentType: 'analysis' }]);
    await until('the other task running while the waiter waits', () => started.has('other'));
    // The waiter's wait ends now, while the slot is taken: its wake-up is held.
    await transaction(h.database.db, async (tx) => {
      await lockExecutions(tx, [execution.id]);
      await wakeWaitingTasks(tx, h.ctx.queue, sql`t.execution_id = ${execution.id} and t.key = 'waiter'`);
    });
    await until('waiter throttled at its wake-up', async () => (await throttled(execution.id)).some((t) => t.key === 'waiter' && t.status === 'in_progress'));
    const [waiter] = (await throttled(execution.id)).filter((t) => t.key === 'waiter');
    expect(waiter!.progress).toMatchObject({ status: 'throttled', limit: 'concurrency', max: 1 });
    expect(started.has('waiter')).toBe(false);
    gates.gate('other').resolve();
    gates.gate('waiter').resolve();
    for (const id of [execution.id, other.id]) {
      await h.waitForStatus(id, ['completed'], 15_000);
      for (const task of await taskRows(id)) expect(task).toMatchObject({ attempt: 1, retry_count: 0 });
      await assertExecutionInvariants(h.database, id);
    }
    await worker.stop();
  });
});

describe('races between workers', () => {
  const waitingForLimitLock = async () => {
    const [row] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = ${LIMITS_LOCK_CLASS} and not granted`;
    return row!.n > 0;
  };

  it('two workers claiming at once can never both start the task past the limit', async () => {
    const ws = await h.workspace();
    await setWorkspaceLimits(h.ctx, ws, { agents: { content: { concurrency: 2 } } });
    const agent = gatedAgent();
    h.registry.register('content', agent.handler);
    const first = await h.startWorker({ workerId: 'w1', defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    scenes.push({ agent, worker: first });
    const running = await start(ws, [{ key: 'x', agentType: 'content' }]);
    await until('x running', () => agent.running().length === 1);
    // The first claim of y or z holds its scope's lock at the hook; the other claim must wait for it.
    const hold = blockAt('throttle:locked', { match: (info) => info.by === 'claim', times: 1 });
    const second = await h.startWorker({ workerId: 'w2', defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    const third = await h.startWorker({ workerId: 'w3', defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    scenes.push({ agent, worker: second }, { agent, worker: third });
    // Two executions, so neither claim waits for the other's execution lock: only the scope's lock orders them.
    const y = await start(ws, [{ key: 'y', agentType: 'content' }]);
    const z = await start(ws, [{ key: 'z', agentType: 'content' }]);
    await hold.reached;
    await until('the other claim waiting for the scope lock', waitingForLimitLock);
    hold.release();
    await until('one started, one throttled', async () => agent.running().length === 2 && (await throttled(y.id)).length + (await throttled(z.id)).length === 1);
    expect(agent.peak()).toBe(2);
    hold.remove();
    await drain(agent, [running.id, y.id, z.id], 2);
    await assertExecutionInvariants(h.database, y.id);
    await assertExecutionInvariants(h.database, z.id);
  });

  it('a slot freed while a claim is throttling wakes that very task (no lost wake-up)', async () => {
    const { ws, agent, worker } = await scene('scheduling', 2, { agents: { scheduling: { concurrency: 1 } } });
    const execution = await start(ws, [{ key: 'a', agentType: 'scheduling' }]);
    await until('a running', () => agent.running().length === 1);
    // b's claim counts a as running and decides to hold b; it is stopped before its commit.
    const decided = blockAt('throttle:decided', { match: (info) => (info.held as string[]).length === 1, times: 1 });
    const later = await start(ws, [{ key: 'b', agentType: 'scheduling' }]);
    await decided.reached;
    // a ends meanwhile: its completion must wait for b's claim to commit, then wake b.
    agent.release('a');
    await until('a’s wake-up waiting for the scope lock', waitingForLimitLock);
    decided.release();
    // b's own job sleeps for minutes: only the wake-up can start it this soon.
    await until('b started by the freed slot', () => agent.running().includes('b'), 10_000);
    agent.release('b');
    await h.waitForStatus(execution.id, ['completed']);
    await h.waitForStatus(later.id, ['completed']);
    await assertExecutionInvariants(h.database, later.id);
    decided.remove();
    await worker.stop();
  });
});
