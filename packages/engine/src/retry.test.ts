import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHandler } from './agent.ts';
import { isTerminalStatus } from './contract.ts';
import { EngineError, NonRetryableError } from './errors.ts';
import { clearHooks, onHook } from './hooks.ts';
import { assertExecutionInvariants } from './invariants.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { retryExecution } from './retry.ts';
import { archiveStrategy, updateStrategy } from './strategy/store.ts';
import { createEngineHarness, type EngineHarness, keyedGates, until } from './testing.ts';

/**
 * Re-runs (issue 13): a retry carries over what completed in the original, runs the rest, and
 * never runs an agent for a task it carried over. Real workers on a real database.
 */
let h: EngineHarness;
let ws: string;
/** Every agent run: execution, task key, the dependency results and the execution input it was given. */
const runs: { executionId: string; key: string; dependencies: Record<string, unknown>; input: Record<string, unknown> }[] = [];
/** Task keys whose agent fails (without retry) while listed. */
const failing = new Set<string>();
/** Task keys whose agent waits for its gate (`<executionId>:<key>`) while listed. */
const holding = new Set<string>();
const gates = keyedGates();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 20, maxMs: 50 } });
  const agent: AgentHandler = async ({ task, dependencies, execution }) => {
    runs.push({ executionId: task.executionId, key: task.key, dependencies: Object.fromEntries(dependencies.map((d) => [d.key, d.result])), input: execution.input });
    if (holding.has(task.key)) await gates.gate(`${task.executionId}:${task.key}`).promise;
    if (failing.has(task.key)) throw new NonRetryableError(`${task.key} cannot be done`);
    if (typeof task.input.resultBytes === 'number') return { text: 'x'.repeat(task.input.resultBytes) };
    return { by: task.key, in: task.executionId };
  };
  h.registry.register('content', agent);
  h.registry.register('email', agent);
  await h.startWorker();
  ws = await h.workspace();
});
afterEach(clearHooks);
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: `Task ${key}`, agentType: 'content', ...extra });
const ran = (executionId: string) =>
  runs
    .filter((r) => r.executionId === executionId)
    .map((r) => r.key)
    .sort();

async function tasksOf(executionId: string) {
  const rows = await h.database.sql<{ id: string; key: string; status: string; reused: boolean; result: unknown; attempt: number; started_at: Date | null; completed_at: Date | null }[]>`
    select id, key, status, reused, result, attempt, started_at, completed_at from tasks where execution_id = ${executionId} order by key`;
  return Object.fromEntries(rows.map((r) => [r.key, r]));
}

async function executionRow(executionId: string) {
  const [row] = await h.database.sql<{ status: string; trigger: string; retry_of: string | null; strategy_version: number; input: unknown; completed_tasks: number; total_tasks: number }[]>`
    select status, trigger, retry_of, strategy_version, input, completed_tasks, total_tasks from executions where id = ${executionId}`;
  return row!;
}

/** (research, notes) -> send -> wrap; `send` fails, so the run ends failed with research and notes completed and wrap skipped. */
async function failedChain(prefix: string) {
  const k = (key: string) => `${prefix}-${key}`;
  const strategyId = await h.strategy(ws, [item(k('research')), item(k('send'), { agentType: 'email', dependsOn: [k('research'), k('notes')] }), item(k('wrap'), { dependsOn: [k('send')] }), item(k('notes'))]);
  failing.add(k('send'));
  const original = await startExecution(h.ctx, { strategyId, workspaceId: ws });
  await h.waitForStatus(original.id, ['failed']);
  return { strategyId, k, original };
}

describe('retryExecution', () => {
  it('carries over what completed (results copied, no agent run), runs the rest, and the carried-over results feed the tasks that run', async () => {
    const { k, original, strategyId } = await failedChain('carry');
    const before = await tasksOf(original.id);
    expect(Object.fromEntries(Object.entries(before).map(([key, t]) => [key, t.status]))).toEqual({
      [k('notes')]: 'completed',
      [k('research')]: 'completed',
      [k('send')]: 'failed',
      [k('wrap')]: 'skipped',
    });
    failing.delete(k('send'));
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    expect(retry).toMatchObject({ status: 'pending', strategyId, totalTasks: 4, completedTasks: 2 });
    const done = await h.waitForStatus(retry.id, ['completed']);
    expect(done.execution).toMatchObject({ status: 'completed', trigger: 'retry', retryOf: original.id, completedTasks: 4, failedTasks: 0 });

    const after = await tasksOf(retry.id);
    // Carried over: completed, reused, the original's result, no attempt, never started.
    for (const key of [k('research'), k('notes')]) {
      expect(after[key]).toMatchObject({ status: 'completed', reused: true, attempt: 0, started_at: null, result: before[key]!.result });
      expect(after[key]!.id).not.toBe(before[key]!.id);
    }
    for (const key of [k('send'), k('wrap')]) expect(after[key]).toMatchObject({ status: 'completed', reused: false, attempt: 1 });
    // No agent ran for what was carried over; `send` read the carried-over results of its dependencies.
    expect(ran(retry.id)).toEqual([k('send'), k('wrap')].sort());
    expect(runs.find((r) => r.executionId === retry.id && r.key === k('send'))!.dependencies).toEqual({
      [k('research')]: { by: k('research'), in: original.id },
      [k('notes')]: { by: k('notes'), in: original.id },
    });

    // One task-completed each for the carried-over tasks, marked reused, naming the task it copies, and nothing else of theirs.
    const events = await h.events(retry.id);
    for (const key of [k('research'), k('notes')]) {
      const own = events.filter((e) => e.data.taskId === after[key]!.id);
      expect(own).toEqual([
        expect.objectContaining({
          type: 'task-completed',
          data: { taskId: after[key]!.id, agentType: 'content', status: 'completed', reused: true, originalTaskId: before[key]!.id, result: before[key]!.result },
        }),
      ]);
    }
    expect(events.filter((e) => e.type === 'task-completed' && e.data.reused !== true).map((e) => e.data.taskId)).toEqual([after[k('send')]!.id, after[k('wrap')]!.id]);
    // execution-started first, then the carried-over completions, then the health/metrics that count them, then the root's queueing.
    expect(events.slice(0, 6).map((e) => e.type)).toEqual(['execution-started', 'task-completed', 'task-completed', 'task-assigned', 'health-update', 'metrics-update']);
    expect(events[0]!.data).toMatchObject({ status: 'running', retryOf: original.id, totalTasks: 4 });
    expect(events[3]!.data).toMatchObject({ taskId: after[k('send')]!.id, attempt: 1 });
    expect(events[5]!.data).toMatchObject({ totalTasks: 4, completedTasks: 2, pendingTasks: 2 });
    expect(events.at(-1)).toMatchObject({ type: 'execution-completed', data: { status: 'completed', completedTasks: 4 } });
    // Health counts them as completed, without durations of their own (they did not run here).
    expect(done.health).toMatchObject({ score: 100, completionRate: 1, errorRate: 0 });
    expect(done.metrics).toMatchObject({ completedTasks: 4, totalTasks: 4, retryAttempts: 0 });
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
    // The original is untouched.
    expect(await tasksOf(original.id)).toEqual(before);
    expect((await executionRow(original.id)).status).toBe('failed');
  });

  it('queues the tasks whose dependencies were all carried over as roots (tagged, one job each), the others wait', async () => {
    const { k, original } = await failedChain('roots');
    failing.delete(k('send'));
    // Hold `send` in the retry, to look at the retry before anything else happens.
    holding.add(k('send'));
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    await until('send to start in the retry', () => runs.some((r) => r.executionId === retry.id && r.key === k('send')));
    const [send] = await h.database.sql<{ status: string; attempt: number; job_id: string | null; queue_tag: number | null; pending_dependencies: number }[]>`
      select status, attempt, job_id, queue_tag::float8 as queue_tag, pending_dependencies from tasks where execution_id = ${retry.id} and key = ${k('send')}`;
    expect(send).toMatchObject({ status: 'in_progress', attempt: 1, pending_dependencies: 0 });
    expect(send!.job_id).not.toBeNull();
    expect(send!.queue_tag).not.toBeNull();
    const [wrap] = await h.database.sql<{ status: string; pending_dependencies: number }[]>`select status, pending_dependencies from tasks where execution_id = ${retry.id} and key = ${k('wrap')}`;
    expect(wrap).toEqual({ status: 'pending', pending_dependencies: 1 });
    gates.gate(`${retry.id}:${k('send')}`).resolve();
    await h.waitForStatus(retry.id, ['completed']);
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });

  it('with mode all runs every task again, carrying nothing over', async () => {
    const { k, original } = await failedChain('all');
    failing.delete(k('send'));
    const retry = await retryExecution(h.ctx, { executionId: original.id, mode: 'all' });
    expect(retry.completedTasks).toBe(0);
    const done = await h.waitForStatus(retry.id, ['completed']);
    expect(done.execution).toMatchObject({ trigger: 'retry', retryOf: original.id });
    expect(ran(retry.id)).toEqual([k('notes'), k('research'), k('send'), k('wrap')].sort());
    expect(Object.values(await tasksOf(retry.id)).map((t) => t.reused)).toEqual([false, false, false, false]);
    expect((await h.events(retry.id)).filter((e) => e.data.reused !== undefined)).toEqual([]);
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });

  it('re-runs a retry: what the first retry carried over or completed is carried over again', async () => {
    const chain = await failedChain('twice-chain');
    failing.delete(chain.k('send'));
    failing.add(chain.k('wrap'));
    const first = await retryExecution(h.ctx, { executionId: chain.original.id });
    await h.waitForStatus(first.id, ['failed']);
    expect(ran(first.id)).toEqual([chain.k('send'), chain.k('wrap')].sort());
    failing.delete(chain.k('wrap'));
    const second = await retryExecution(h.ctx, { executionId: first.id });
    const finished = await h.waitForStatus(second.id, ['completed']);
    expect(finished.execution).toMatchObject({ retryOf: first.id, trigger: 'retry' });
    expect(ran(second.id)).toEqual([chain.k('wrap')]);
    const tasks = await tasksOf(second.id);
    expect([chain.k('notes'), chain.k('research'), chain.k('send')].map((key) => tasks[key]!.reused)).toEqual([true, true, true]);
    // The result research got in the original travels through both re-runs unchanged.
    expect(tasks[chain.k('research')]!.result).toEqual({ by: chain.k('research'), in: chain.original.id });
    expect(tasks[chain.k('send')]!.result).toEqual({ by: chain.k('send'), in: first.id });
    await assertExecutionInvariants(h.database, first.id, { requireFinished: true });
    await assertExecutionInvariants(h.database, second.id, { requireFinished: true });
  });

  it('re-runs a cancelled execution: what completed before the cancel is carried over, what was skipped runs', async () => {
    const strategyId = await h.strategy(ws, [item('cancel-first'), item('cancel-second', { dependsOn: ['cancel-first'] })]);
    holding.add('cancel-first');
    const original = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await until('the first task to run', () => runs.some((r) => r.executionId === original.id && r.key === 'cancel-first'));
    await controlExecution(h.ctx, original.id, 'cancel');
    // Cancelled, but its running task has not finished: the retry must wait for it.
    await expect(retryExecution(h.ctx, { executionId: original.id })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'Cannot retry an execution that is cancelled until its running tasks have finished',
    });
    gates.gate(`${original.id}:cancel-first`).resolve();
    await h.waitForStatus(original.id, ['cancelled']);
    const before = await tasksOf(original.id);
    expect([before['cancel-first']!.status, before['cancel-second']!.status]).toEqual(['completed', 'skipped']);

    const retry = await retryExecution(h.ctx, { executionId: original.id });
    await h.waitForStatus(retry.id, ['completed']);
    expect(ran(retry.id)).toEqual(['cancel-second']);
    expect((await tasksOf(retry.id))['cancel-first']).toMatchObject({ reused: true, result: before['cancel-first']!.result });
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });

  it('completes at once, with the usual final events, when every task is carried over', async () => {
    const strategyId = await h.strategy(ws, [item('whole-a'), item('whole-b')]);
    holding.add('whole-a').add('whole-b');
    const original = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await until('both tasks to run', () => ['whole-a', 'whole-b'].every((key) => runs.some((r) => r.executionId === original.id && r.key === key)));
    await controlExecution(h.ctx, original.id, 'cancel');
    for (const key of ['whole-a', 'whole-b']) gates.gate(`${original.id}:${key}`).resolve();
    await h.waitForStatus(original.id, ['cancelled']);

    const retry = await retryExecution(h.ctx, { executionId: original.id });
    // Settled by the start's own transaction: nothing to queue, nothing for a worker to do.
    expect(await executionRow(retry.id)).toMatchObject({ status: 'completed', completed_tasks: 2, total_tasks: 2, trigger: 'retry', retry_of: original.id });
    const types = (await h.events(retry.id)).map((e) => e.type);
    expect(types).toEqual(['execution-started', 'task-completed', 'task-completed', 'health-update', 'metrics-update', 'execution-completed']);
    expect(ran(retry.id)).toEqual([]);
    const status = await h.waitForStatus(retry.id, ['completed']);
    expect(status.execution.completedAt).not.toBeNull();
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });

  it('keeps the original version and input, whatever was edited since; an archived strategy cannot be re-run', async () => {
    const schema = { type: 'object', properties: { audience: { type: 'string' } }, required: ['audience'], additionalProperties: false };
    const strategyId = await h.strategy(ws, [item('pin-a'), item('pin-b', { agentType: 'email', dependsOn: ['pin-a'] })], { inputSchema: schema });
    failing.add('pin-b');
    const original = await startExecution(h.ctx, { strategyId, workspaceId: ws, input: { audience: 'founders' } });
    await h.waitForStatus(original.id, ['failed']);
    failing.delete('pin-b');
    // Version 2 has other items and another schema: the re-run keeps version 1 and its input.
    await updateStrategy(h.database.db, strategyId, { name: 'Edited', items: [item('pin-other')], inputSchema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } });
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    await h.waitForStatus(retry.id, ['completed']);
    expect(await executionRow(retry.id)).toMatchObject({ strategy_version: 1, input: { audience: 'founders' } });
    expect(ran(retry.id)).toEqual(['pin-b']);
    expect(runs.find((r) => r.executionId === retry.id)!.input).toEqual({ audience: 'founders' });

    await archiveStrategy(h.database.db, strategyId);
    const refused = await retryExecution(h.ctx, { executionId: original.id }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EngineError);
    expect(refused).toMatchObject({ code: 'CONFLICT', message: `Strategy ${strategyId} is archived` });
    // The retry that started before the archive is unaffected.
    expect((await executionRow(retry.id)).status).toBe('completed');
  });

  it.each(['pending', 'running', 'paused', 'completed'])('refuses to re-run a %s execution (CONFLICT), and an unknown one (NOT_FOUND)', async (status) => {
    const key = `state-${status}`;
    const strategyId = await h.strategy(ws, [item(key)]);
    holding.add(key);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // Its task held running, the execution stays where the test puts it.
    await until('the task to run', () => runs.some((r) => r.executionId === execution.id));
    await h.database.sql`update executions set status = ${status}, completed_at = case when ${isTerminalStatus(status)} then now() end where id = ${execution.id}`;
    await expect(retryExecution(h.ctx, { executionId: execution.id })).rejects.toMatchObject({ code: 'CONFLICT', message: `Cannot retry an execution that is ${status}`, details: { status } });
    await expect(retryExecution(h.ctx, { executionId: 'exec_0_missing' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'Execution not found' });
    const [count] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from executions where retry_of = ${execution.id}`;
    expect(count!.n).toBe(0);
    await h.database.sql`update executions set status = 'cancelled', completed_at = now() where id = ${execution.id}`;
    gates.gate(`${execution.id}:${key}`).resolve();
  });

  it('puts the carried-over results on their events only while small, and 4 MiB of them at most; the status body has them all', async () => {
    const big = Array.from({ length: 70 }, (_, i) => item(`budget-${i}`, { input: { resultBytes: 60_000 } }));
    // The failing task runs after all the others, so the original ends with all of them completed.
    const strategyId = await h.strategy(ws, [item('budget-huge', { input: { resultBytes: 70_000 } }), ...big, item('budget-fails', { dependsOn: ['budget-huge', ...big.map((b) => b.key)] })]);
    failing.add('budget-fails');
    const original = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await h.waitForStatus(original.id, ['failed']);
    failing.delete('budget-fails');
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    const done = await h.waitForStatus(retry.id, ['completed']);
    const keyOf = new Map(done.tasks.map((t) => [t.id, t.key]));
    const carried = (await h.events(retry.id)).filter((e) => e.data.reused === true);
    expect(carried).toHaveLength(71);
    const omitted = carried.filter((e) => e.data.resultOmitted === true).map((e) => keyOf.get(e.data.taskId as string));
    // Over 64 KiB: never on an event. 60 KB each: 69 fit in 4 MiB together, the 70th does not.
    expect(omitted).toEqual(['budget-huge', 'budget-69']);
    const riding = carried.filter((e) => 'result' in e.data);
    expect(riding).toHaveLength(69);
    expect(riding.reduce((sum, e) => sum + JSON.stringify(e.data.result).length, 0)).toBeLessThanOrEqual(4 * 1024 * 1024);
    for (const key of ['budget-huge', 'budget-69']) expect((done.tasks.find((t) => t.key === key)!.result as { text: string }).text).toHaveLength(key === 'budget-huge' ? 70_000 : 60_000);
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });

  it('leaves nothing behind when it fails in the middle of its transaction', async () => {
    const { k, original } = await failedChain('atomic');
    failing.delete(k('send'));
    let seen: string | undefined;
    onHook('lifecycle:start-tasks-inserted', (info) => {
      if (info.retryOf !== original.id) return;
      seen = info.executionId as string;
      throw new Error('connection lost after the tasks were written');
    });
    await expect(retryExecution(h.ctx, { executionId: original.id })).rejects.toThrow('connection lost after the tasks were written');
    expect(seen).toMatch(/^exec_/);
    const [left] = await h.database.sql<{ executions: number; tasks: number; events: number; jobs: number }[]>`
      select (select count(*)::int from executions where retry_of = ${original.id}) as executions,
        (select count(*)::int from tasks where execution_id = ${seen!}) as tasks,
        (select count(*)::int from execution_events where execution_id = ${seen!}) as events,
        (select count(*)::int from pgboss.job where data->>'executionId' = ${seen!}) as jobs`;
    expect(left).toEqual({ executions: 0, tasks: 0, events: 0, jobs: 0 });
    expect(ran(seen!)).toEqual([]);
    // The original can still be re-run, and that retry runs normally.
    clearHooks();
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    await h.waitForStatus(retry.id, ['completed']);
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });
  });
});
