import {
  archiveStrategy,
  blockAt,
  ChildWaitRequest,
  type ChildSummary,
  clearHooks,
  controlExecution,
  EngineError,
  type EngineWorker,
  NonRetryableError,
  onHook,
  startExecution,
  updateStrategy,
} from '@strata/engine';
import { assertExecutionInvariants, createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { strategyAgent } from './strategy.ts';
import { agentConfig, agentContext } from './testing.ts';

/**
 * The `strategy` agent on the real engine: child executions started, waited for, woken, failed,
 * retried, cancelled, paused and resumed with their parents, refused (cycles, depth, other
 * workspaces, archived strategies), across a worker restart and a lost commit acknowledgement.
 * The other tasks run a test agent (`analysis`) that can be held at a gate, fail, or return a
 * result of a given size.
 */
let h: EngineHarness;
let worker: EngineWorker;
const gates = keyedGates();
/** How many more times each `failKey` fails (a NonRetryableError, so its execution fails at once). */
const failures = new Map<string, number>();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 100 } });
  h.registry.register('strategy', strategyAgent({ config: agentConfig(), db: h.database.db }));
  h.registry.register('analysis', async ({ task, signal }) => {
    const input = task.input as { gate?: string; failKey?: string; bytes?: number; value?: unknown };
    if (input.gate) {
      await Promise.race([
        gates.gate(input.gate).promise,
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      ]);
    }
    const left = input.failKey ? (failures.get(input.failKey) ?? 0) : 0;
    if (left > 0) {
      failures.set(input.failKey!, left - 1);
      throw new NonRetryableError(`${task.key} failed on purpose`);
    }
    return input.bytes ? { text: 'x'.repeat(input.bytes) } : { key: task.key, value: input.value ?? null };
  });
  worker = await h.startWorker();
});
afterEach(() => {
  clearHooks();
  h.ctx.children = undefined;
});
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await h?.close();
});

const an = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'analysis', ...extra });
const sub = (key: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'strategy', input, ...extra });

type ExecutionRow = { id: string; status: string; parent_execution_id: string | null; parent_task_id: string | null; parent_attempt: number | null; trigger: string; error: string | null; completed_at: Date | null };
const childrenOf = (executionId: string) =>
  h.database.sql<ExecutionRow[]>`
    select id, status, parent_execution_id, parent_task_id, parent_attempt, trigger, error, completed_at from executions
    where parent_execution_id = ${executionId} order by parent_attempt, id`;
const taskOf = async (executionId: string, key: string) =>
  (await h.database.sql<{ id: string; status: string; attempt: number; retry_count: number; error: string | null; result: unknown }[]>`
    select id, status, attempt, retry_count, error, result from tasks where execution_id = ${executionId} and key = ${key}`)[0]!;
const oneChild = async (executionId: string, status?: string) =>
  until(`a child of ${executionId}${status ? ` ${status}` : ''}`, async () => (await childrenOf(executionId)).find((c) => !status || c.status === status));
const invariants = async (...ids: string[]) => {
  for (const id of ids) await assertExecutionInvariants(h.database, id);
};
const engineErrorOf = async (promise: Promise<unknown>): Promise<EngineError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EngineError)) throw new Error(`expected an EngineError, got ${String(error)}`);
  return error;
};

/** A parent started with one `strategy` task (`maxRetries`) whose child's only task fails its first `times` runs. */
async function parentOfFailingChild(failKey: string, times: number, maxRetries: number) {
  const ws = await h.workspace();
  failures.set(failKey, times);
  const child = await h.strategy(ws, [an('x', { input: { failKey } })]);
  const parent = await h.strategy(ws, [sub('sub', { strategyId: child }, { maxRetries })]);
  return { child, execution: await startExecution(h.ctx, { strategyId: parent, workspaceId: ws }) };
}

/** A parent waiting for its child, whose task `first` runs, held at `gate`, with `then` after it. */
async function childRunning(first: string, then: string, gate: string) {
  const ws = await h.workspace();
  const child = await h.strategy(ws, [an(first, { input: { gate } }), an(then, { dependsOn: [first] })]);
  const parent = await h.strategy(ws, [sub('sub', { strategyId: child })]);
  const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
  const row = await oneChild(execution.id);
  await until('the child task to run', async () => (await taskOf(row.id, first)).status === 'in_progress');
  return { execution, row };
}

/**
 * A parent whose child runs one task held at `gate`, and whose agent, resumed by the safety net
 * (1 s here, then back to 600 s), is held where it has just read that child still running.
 */
async function lookingAtRunningChild(gate: string) {
  h.ctx.children = { pollSeconds: 1 };
  const ws = await h.workspace();
  const child = await h.strategy(ws, [an('slow', { input: { gate } })]);
  const parent = await h.strategy(ws, [sub('sub', { strategyId: child })]);
  const looked = blockAt('children:after-read', { match: (info) => info.status === 'running', times: 1 });
  const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
  const row = await oneChild(execution.id);
  await looked.reached;
  h.ctx.children = { pollSeconds: 600 };
  return { execution, child: row, looked };
}

describe('the strategy agent, on its own', () => {
  const agent = strategyAgent({ config: agentConfig(), db: undefined as never });
  const summary = (status: string, error: string | null = null) => ({ executionId: 'exec_1_c', strategyId: 'strat_c', status, error }) as ChildSummary;

  it('asks for its child, waits on while the child runs, and ends with it', async () => {
    const request = { strategyId: 'strat_c', version: 2, input: { n: 1 } };
    const first = await Promise.resolve(agent.run(agentContext({ input: request }).ctx)).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ChildWaitRequest);
    expect((first as ChildWaitRequest).request).toEqual(request);
    expect(await Promise.resolve(agent.run(agentContext({ input: request, child: summary('running') }).ctx)).catch((e: unknown) => e)).toBeInstanceOf(ChildWaitRequest);
    expect(await agent.run(agentContext({ input: request, child: summary('completed') }).ctx)).toEqual(summary('completed'));
    const failed = await Promise.resolve(agent.run(agentContext({ input: request, child: summary('failed', 'Task "x" failed: no') }).ctx)).catch((e: unknown) => e);
    expect(failed).not.toBeInstanceOf(NonRetryableError);
    expect((failed as Error).message).toBe('Child execution exec_1_c (strat_c) failed: Task "x" failed: no');
    const cancelled = await Promise.resolve(agent.run(agentContext({ input: request, child: summary('cancelled') }).ctx)).catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(NonRetryableError);
  });

  it('refuses input without a strategy, and fields it does not know', () => {
    const schema = agent.inputSchema!;
    expect(schema.safeParse({}).success).toBe(false);
    expect(schema.safeParse({ strategyId: 'strat_a', versoin: 2 }).success).toBe(false);
    expect(schema.safeParse({ strategyId: 'strat_a', version: 0 }).success).toBe(false);
    expect(schema.safeParse({ strategyId: 'strat_a', input: [] }).success).toBe(false);
    expect(schema.safeParse({ strategyId: 'strat_a', version: 1, input: { n: 1 } }).success).toBe(true);
  });
});

describe('child executions', () => {
  it('completes: the task holds the child summary, the parent goes on, woken by the child’s end', async () => {
    const ws = await h.workspace();
    const child = await h.strategy(ws, [an('a'), an('b', { dependsOn: ['a'], input: { value: 2 } }), an('c', { input: { value: 3 } })], {
      inputSchema: { type: 'object', properties: { n: { type: 'number' } } },
    });
    const parent = await h.strategy(ws, [an('prep'), sub('sub', { strategyId: child, input: { n: 7 } }, { dependsOn: ['prep'] }), an('after', { dependsOn: ['sub'] })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed'], 30_000);
    const task = done.tasks.find((t) => t.key === 'sub')!;
    const [row] = await childrenOf(execution.id);
    expect(row).toMatchObject({ parent_task_id: task.id, parent_attempt: 1, trigger: 'parent', status: 'completed' });
    expect(task.result).toEqual({
      executionId: row!.id,
      strategyId: child,
      strategyVersion: 1,
      status: 'completed',
      error: null,
      totalTasks: 3,
      completedTasks: 3,
      failedTasks: 0,
      skippedTasks: 0,
      health: expect.objectContaining({ score: 100, completionRate: 1, issues: [] }),
      // Only the final tasks (nothing depends on them): b and c, not a.
      results: { b: { key: 'b', value: 2 }, c: { key: 'c', value: 3 } },
      omittedResults: [],
    });
    const childStatus = await h.waitForStatus(row!.id, ['completed']);
    expect(childStatus.execution).toMatchObject({ input: { n: 7 }, trigger: 'parent', parentExecutionId: execution.id, parentTaskId: task.id });
    // Woken by the child's end: claimed again within moments of it, while the safety net waited 600 s.
    const [timing] = await h.database.sql<{ childDone: string; woken: string; waitedUntil: string }[]>`
      select (select created_at::text from execution_events where execution_id = ${row!.id} and type = 'execution-completed') as "childDone",
        (select min(v.created_at)::text from execution_events v where v.execution_id = ${execution.id} and v.data->>'taskId' = ${task.id} and v.data ? 'workerId'
          and v.id > (select id from execution_events where execution_id = ${execution.id} and data ? 'childExecutionId')) as woken,
        (select data->>'waitingUntil' from execution_events where execution_id = ${execution.id} and data ? 'childExecutionId') as "waitedUntil"`;
    expect(new Date(timing!.woken).getTime() - new Date(timing!.childDone).getTime()).toBeLessThan(5000);
    expect(new Date(timing!.waitedUntil).getTime()).toBeGreaterThan(Date.now() + 500_000);
    await invariants(execution.id, row!.id);
  });

  it('fails the task when the child fails; the retry starts a new child', async () => {
    const { child, execution } = await parentOfFailingChild('retry-1', 1, 2);
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    const children = await childrenOf(execution.id);
    expect(children.map((c) => [c.parent_attempt, c.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    const task = await taskOf(execution.id, 'sub');
    expect(task).toMatchObject({ status: 'completed', attempt: 2, retry_count: 1 });
    expect((task.result as ChildSummary).executionId).toBe(children[1]!.id);
    const events = await h.events(execution.id);
    expect(events.find((e) => e.type === 'task-failed')?.data).toMatchObject({
      willRetry: true,
      error: `Child execution ${children[0]!.id} (${child}) failed: Task "x" failed: x failed on purpose`,
    });
    await invariants(execution.id, ...children.map((c) => c.id));
  });

  it('fails the parent when its child keeps failing and no retry is left', async () => {
    const { child, execution } = await parentOfFailingChild('retry-2', 5, 0);
    const done = await h.waitForStatus(execution.id, ['failed'], 30_000);
    const [only] = await childrenOf(execution.id);
    expect(done.execution.error).toBe(`Task "sub" failed: Child execution ${only!.id} (${child}) failed: Task "x" failed: x failed on purpose`);
    expect(await childrenOf(execution.id)).toHaveLength(1);
    await invariants(execution.id, only!.id);
  });

  it('is cancelled with its parent (its in-progress task finishes), and the parent task is skipped', async () => {
    const { execution, row } = await childRunning('slow', 'next', 'cancel-1');
    await controlExecution(h.ctx, execution.id, 'cancel');
    expect((await childrenOf(execution.id))[0]).toMatchObject({ status: 'cancelled' });
    expect(await taskOf(row.id, 'next')).toMatchObject({ status: 'skipped' });
    const cancelled = await h.waitForStatus(execution.id, ['cancelled']);
    expect(cancelled.tasks[0]).toMatchObject({ status: 'skipped', skip_reason: 'cancelled' });
    gates.gate('cancel-1').resolve();
    const childDone = await h.waitForStatus(row.id, ['cancelled']);
    expect(childDone.tasks.find((t) => t.key === 'slow')).toMatchObject({ status: 'completed' });
    await invariants(execution.id, row.id);
  });

  it('is paused and resumed with its parent', async () => {
    const { execution, row } = await childRunning('first', 'second', 'pause-1');
    await controlExecution(h.ctx, execution.id, 'pause');
    expect((await childrenOf(execution.id))[0]).toMatchObject({ status: 'paused' });
    gates.gate('pause-1').resolve();
    await until('the in-progress task to finish', async () => (await taskOf(row.id, 'first')).status === 'completed');
    // Paused: nothing new starts in the child.
    expect(await taskOf(row.id, 'second')).toMatchObject({ status: 'pending' });
    expect((await childrenOf(execution.id))[0]).toMatchObject({ status: 'paused' });
    await controlExecution(h.ctx, execution.id, 'resume');
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect((await childrenOf(execution.id))[0]).toMatchObject({ status: 'completed' });
    const childEvents = (await h.events(row.id)).map((e) => e.type);
    expect(childEvents.filter((t) => t === 'execution-paused' || t === 'execution-resumed')).toEqual(['execution-paused', 'execution-resumed']);
    await invariants(execution.id, row.id);
  });

  it('fails the task without retry when the child is cancelled on its own', async () => {
    const ws = await h.workspace();
    const child = await h.strategy(ws, [an('slow', { input: { gate: 'cancel-2' } })]);
    const parent = await h.strategy(ws, [sub('sub', { strategyId: child }, { maxRetries: 3 })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const row = await oneChild(execution.id);
    await until('the child task to run', async () => (await taskOf(row.id, 'slow')).status === 'in_progress');
    await controlExecution(h.ctx, row.id, 'cancel');
    gates.gate('cancel-2').resolve();
    const done = await h.waitForStatus(execution.id, ['failed'], 30_000);
    expect(done.execution.error).toBe(`Task "sub" failed: Child execution ${row.id} (${child}) was cancelled`);
    expect(await taskOf(execution.id, 'sub')).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(await childrenOf(execution.id)).toHaveLength(1);
    await invariants(execution.id, row.id);
  });

  it('carries the results of its final tasks within a budget, naming those left out', async () => {
    const ws = await h.workspace();
    // 100 KB each: two fit in the 256 KiB the summary carries, the third (the middle one) does not; the small last one still does.
    const child = await h.strategy(ws, [an('big1', { input: { bytes: 100_000 } }), an('big2', { input: { bytes: 100_000 } }), an('big3', { input: { bytes: 100_000 } }), an('small', { input: { value: 1 } })]);
    const parent = await h.strategy(ws, [sub('sub', { strategyId: child })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    const summary = (await taskOf(execution.id, 'sub')).result as ChildSummary;
    expect(Object.keys(summary.results)).toEqual(['big1', 'big2', 'small']);
    expect(summary.omittedResults).toEqual([{ key: 'big3', taskId: expect.stringMatching(/^task_/), bytes: 100_012 }]);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(256 * 1024 + 4096);
  });
});

describe('refused nesting', () => {
  it('refuses a cycle through two strategies when it is saved, naming the path and the field', async () => {
    const ws = await h.workspace();
    const a = await h.strategy(ws, [an('x')]);
    const b = await h.strategy(ws, [sub('sub', { strategyId: a })]);
    const error = await engineErrorOf(updateStrategy(h.database.db, a, { name: 'A', items: [an('x'), sub('back', { strategyId: b })] }));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toBe(`Item "back": strategy cycle ${a} → ${b} → ${a}`);
    expect(error.details).toMatchObject({ path: 'items[1].input.strategyId', cycle: [a, b, a] });
    const self = await engineErrorOf(updateStrategy(h.database.db, a, { name: 'A', items: [sub('me', { strategyId: a })] }));
    expect(self.message).toBe(`Item "me": strategy cycle ${a} → ${a}`);
    // Nothing was written: A is still at version 1.
    expect((await h.database.sql`select version from strategies where id = ${a}`)[0]).toMatchObject({ version: 1 });
  });

  it('serialises edits of one workspace: two that would each pass against the other’s old version cannot close a cycle', async () => {
    const ws = await h.workspace();
    const a = await h.strategy(ws, [an('x')]);
    const b = await h.strategy(ws, [an('y')]);
    const held = blockAt('strategy:save-checked', { match: (info) => info.strategyId === a });
    const first = updateStrategy(h.database.db, a, { name: 'A', items: [sub('to-b', { strategyId: b })] });
    await held.reached;
    const second = engineErrorOf(updateStrategy(h.database.db, b, { name: 'B', items: [sub('to-a', { strategyId: a })] }));
    await until('the second edit to wait for the first', async () => {
      const [row] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
      return (row?.n ?? 0) > 0;
    });
    held.release();
    await first;
    expect((await second).message).toBe(`Item "to-a": strategy cycle ${b} → ${a} → ${b}`);
  });

  it('refuses at save a strategy of another workspace, an archived one, a version it does not have, and input its schema refuses', async () => {
    const ws = await h.workspace();
    const elsewhere = await h.strategy(await h.workspace(), [an('x')]);
    const archived = await h.strategy(ws, [an('x')]);
    await archiveStrategy(h.database.db, archived);
    const typed = await h.strategy(ws, [an('x')], { inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ strategyId: elsewhere }, `Item "sub": input strategyId: no strategy ${elsewhere} in this workspace`, 'items[0].input.strategyId'],
      [{ strategyId: archived }, `Item "sub": input strategyId: strategy ${archived} is archived`, 'items[0].input.strategyId'],
      [{ strategyId: typed, version: 2 }, `Item "sub": input version: strategy ${typed} has no version 2`, 'items[0].input.version'],
      [{ strategyId: typed, input: { n: 'seven' } }, 'Item "sub": input input.n: must be number', 'items[0].input.input.n'],
    ];
    for (const [input, message, path] of cases) {
      const error = await engineErrorOf(h.strategy(ws, [sub('sub', input)]));
      expect([error.code, error.message, error.details?.path]).toEqual(['VALIDATION', message, path]);
    }
  });

  it('checks cycles again at start: 409 for a top-level start, a failed task for a child', async () => {
    const ws = await h.workspace();
    const b = await h.strategy(ws, [an('y')]);
    const a = await h.strategy(ws, [an('hold', { input: { gate: 'cycle-1' } }), sub('sub', { strategyId: b }, { dependsOn: ['hold'], maxRetries: 3 })]);
    const execution = await startExecution(h.ctx, { strategyId: a, workspaceId: ws });
    // A definition that bypassed the save check (written by an older version, or by hand): B's item now runs A.
    await h.database.sql`update strategy_items set agent_type = 'strategy', input = ${JSON.stringify({ strategyId: a })}::jsonb where strategy_id = ${b} and key = 'y'`;
    const refused = await engineErrorOf(startExecution(h.ctx, { strategyId: a, workspaceId: ws }));
    expect([refused.code, refused.message]).toEqual(['CONFLICT', `Cannot start ${a}: strategy cycle ${a} → ${b} → ${a} (through item "sub")`]);
    gates.gate('cycle-1').resolve();
    const done = await h.waitForStatus(execution.id, ['failed'], 30_000);
    expect(await taskOf(execution.id, 'sub')).toMatchObject({
      status: 'failed',
      retry_count: 0,
      error: `The child execution of ${b} was not started: Cannot start ${b}: strategy cycle ${a} → ${b} → ${a} (through item "y")`,
    });
    expect(done.execution.status).toBe('failed');
    expect(await childrenOf(execution.id)).toEqual([]);
  });

  it('fails a child beyond STRATEGY_MAX_DEPTH without retry', async () => {
    h.ctx.children = { maxDepth: 1 };
    const ws = await h.workspace();
    const c = await h.strategy(ws, [an('leaf')]);
    const b = await h.strategy(ws, [sub('to-c', { strategyId: c }, { maxRetries: 3 })]);
    const a = await h.strategy(ws, [sub('to-b', { strategyId: b }, { maxRetries: 0 })]);
    const execution = await startExecution(h.ctx, { strategyId: a, workspaceId: ws });
    await h.waitForStatus(execution.id, ['failed'], 30_000);
    const [child] = await childrenOf(execution.id);
    expect(await taskOf(child!.id, 'to-c')).toMatchObject({
      status: 'failed',
      retry_count: 0,
      error: `The child execution of ${c} was not started: it would be nested 2 deep, and STRATEGY_MAX_DEPTH is 1`,
    });
    expect(await childrenOf(child!.id)).toEqual([]);
    await invariants(execution.id, child!.id);
  });

  it('fails the task without retry when the child strategy was archived, or belongs to another workspace, by the time it runs', async () => {
    const ws = await h.workspace();
    const b = await h.strategy(ws, [an('y')]);
    const elsewhere = await h.strategy(await h.workspace(), [an('y')]);
    const a = await h.strategy(ws, [sub('sub', { strategyId: b }, { maxRetries: 3 })]);
    await archiveStrategy(h.database.db, b);
    const first = await startExecution(h.ctx, { strategyId: a, workspaceId: ws });
    await h.waitForStatus(first.id, ['failed'], 30_000);
    expect(await taskOf(first.id, 'sub')).toMatchObject({ retry_count: 0, error: `The child execution of ${b} was not started: Strategy ${b} is archived` });
    await h.database.sql`update strategy_items set input = ${JSON.stringify({ strategyId: elsewhere })}::jsonb where strategy_id = ${a} and key = 'sub'`;
    const second = await startExecution(h.ctx, { strategyId: a, workspaceId: ws });
    await h.waitForStatus(second.id, ['failed'], 30_000);
    expect(await taskOf(second.id, 'sub')).toMatchObject({ retry_count: 0, error: `The child execution of ${elsewhere} was not started: Strategy not found: ${elsewhere}` });
    expect(await h.database.sql`select id from executions where strategy_id = ${elsewhere}`).toHaveLength(0);
  });
});

describe('durability', () => {
  it('survives a worker restart while the parent waits: one child, and the parent completes when it ends', async () => {
    const ws = await h.workspace();
    const child = await h.strategy(ws, [an('slow', { input: { gate: 'restart-1' } })]);
    const parent = await h.strategy(ws, [sub('sub', { strategyId: child })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const row = await oneChild(execution.id);
    await until('the child task to run', async () => (await taskOf(row.id, 'slow')).status === 'in_progress');
    await worker.stop();
    const waiting = await taskOf(execution.id, 'sub');
    // (Started before any assertion: the tests after this one need a worker whatever happens here.)
    worker = await h.startWorker();
    // The waiting parent task held no worker: it was still waiting, with the child it started.
    expect(waiting).toMatchObject({ status: 'in_progress', attempt: 1 });
    gates.gate('restart-1').resolve();
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(await childrenOf(execution.id)).toEqual([expect.objectContaining({ id: row.id, status: 'completed', parent_attempt: 1 })]);
    expect(await taskOf(execution.id, 'sub')).toMatchObject({ attempt: 1, retry_count: 0 });
    await invariants(execution.id, row.id);
  });

  it('starts one child when the commit that started it lost its acknowledgement (the worker records again)', async () => {
    const ws = await h.workspace();
    const child = await h.strategy(ws, [an('c')]);
    const parent = await h.strategy(ws, [an('prep', { input: { gate: 'ack-1' } }), sub('sub', { strategyId: child }, { dependsOn: ['prep'] })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const subId = (await taskOf(execution.id, 'sub')).id;
    let lost = 0;
    onHook('runner:after-record-commit', (info) => {
      if (lost === 0 && (info.taskIds as string[]).includes(subId)) {
        lost++;
        throw new Error('connection lost before the commit was acknowledged');
      }
    });
    gates.gate('ack-1').resolve();
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(lost).toBe(1);
    expect(await childrenOf(execution.id)).toEqual([expect.objectContaining({ parent_attempt: 1, status: 'completed' })]);
    const holds = (await h.events(execution.id)).filter((e) => e.data.taskId === subId && e.data.childExecutionId);
    expect(holds).toHaveLength(1);
    await invariants(execution.id);
  });

  it('runs the woken task once the run that started the child has left its lane (a child without items ends at once)', async () => {
    const ws = await h.workspace();
    const empty = await h.strategy(ws, []);
    const parent = await h.strategy(ws, [an('prep', { input: { gate: 'lane-1' } }), sub('sub', { strategyId: empty }, { dependsOn: ['prep'] })]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const subId = (await taskOf(execution.id, 'sub')).id;
    // The run that asked for the child stays in its lane after its commit until the woken run has been claimed here.
    const recorded = blockAt('runner:after-record-commit', { match: (info) => (info.taskIds as string[]).includes(subId), times: 1 });
    let claims = 0;
    const resumed = Promise.withResolvers<void>();
    onHook('runner:after-claim-commit', (info) => {
      if ((info.taskIds as string[]).includes(subId) && ++claims === 2) resumed.resolve();
    });
    gates.gate('lane-1').resolve();
    await recorded.reached;
    await resumed.promise;
    recorded.release();
    const done = await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(done.tasks.find((t) => t.key === 'sub')).toMatchObject({ status: 'completed', retry_count: 0 });
    expect(((await taskOf(execution.id, 'sub')).result as ChildSummary).status).toBe('completed');
    await invariants(execution.id);
  });

  it('re-reads a child that ends while the resumed agent looks at it: queued at once, not left to the safety net', async () => {
    const { execution, child: row, looked } = await lookingAtRunningChild('race-1');
    gates.gate('race-1').resolve();
    await h.waitForStatus(row.id, ['completed']);
    looked.release();
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    const holds = (await h.events(execution.id)).filter((e) => e.data.childExecutionId);
    expect(holds).toHaveLength(2);
    // The second hold found the child ended (read after the task's row lock): due at once.
    const [last] = await h.database.sql<{ at: string }[]>`select created_at::text as at from execution_events where id = ${holds[1]!.id}`;
    expect(new Date(holds[1]!.data.waitingUntil as string).getTime()).toBeLessThanOrEqual(new Date(last!.at).getTime() + 1000);
    await invariants(execution.id, row.id);
  });

  it('cancels a child nobody waits for any more (its task was handed back while the agent looked at it)', async () => {
    const { execution, child: first, looked } = await lookingAtRunningChild('orphan-1');
    // The worker stops while the resumed agent looks at its running child: the attempt is handed back.
    const stopping = worker.stop();
    looked.release();
    await stopping;
    const handedBack = await taskOf(execution.id, 'sub');
    worker = await h.startWorker();
    expect(handedBack).toMatchObject({ status: 'assigned', attempt: 2, retry_count: 0 });
    // Attempt 2 starts its own child; the first one, orphaned, is cancelled by the sweep.
    const second = await until('the second child', async () => (await childrenOf(execution.id)).find((c) => c.parent_attempt === 2));
    await until('the orphan to be cancelled', async () => (await childrenOf(execution.id)).find((c) => c.id === first.id && c.status === 'cancelled'));
    gates.gate('orphan-1').resolve();
    await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(((await taskOf(execution.id, 'sub')).result as ChildSummary).executionId).toBe(second.id);
    await h.waitForStatus(first.id, ['cancelled']);
    await invariants(execution.id, first.id, second.id);
  });
});
