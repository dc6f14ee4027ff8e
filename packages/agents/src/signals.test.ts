import { newId, users } from '@strata/db';
import { blockAt, clearHooks, controlExecution, sendSignal, startExecution } from '@strata/engine';
import { assertExecutionInvariants, createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { coordinationAgent, SIGNAL_TIMED_OUT } from './coordination.ts';
import { agentConfig } from './testing.ts';

/**
 * Signals on the real engine: a coordination task with `waitForSignal` completes with the payload
 * of the first signal of its name, sent before or after it began to wait; every waiter of a name
 * gets that same first signal; a timeout fails it without retries; a pause holds the signal
 * until resume; a signal that arrives while the agent is deciding to wait is not lost.
 */
let h: EngineHarness;
let sender: string;
const gates = keyedGates();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 100 } });
  h.registry.register('coordination', coordinationAgent({ config: agentConfig(), db: h.database.db }));
  h.registry.register('content', async ({ task }) => {
    if (task.input.hold) await gates.gate(task.key).promise;
    return { done: task.key };
  });
  await h.startWorker();
  sender = newId('usr');
  await h.database.db.insert(users).values({ id: sender, email: 'ci@example.com', passwordHash: 'x' });
});
afterEach(() => clearHooks());
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await h?.close();
});

const waiter = (key: string, name: string, extra: Record<string, unknown> = {}, item: Record<string, unknown> = {}) => ({
  key,
  description: key,
  agentType: 'coordination',
  input: { waitForSignal: name, ...extra },
  ...item,
});

async function start(items: Parameters<EngineHarness['strategy']>[1], extra: Parameters<EngineHarness['strategy']>[2] = {}) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, items, extra);
  return (await startExecution(h.ctx, { strategyId, workspaceId: ws })).id;
}

type TaskRow = { id: string; status: string; waiting: boolean; progress: Record<string, unknown> | null };
const taskOf = async (executionId: string, key: string) =>
  (await h.database.sql<TaskRow[]>`select id, status, wake_at is not null as waiting, progress from tasks where execution_id = ${executionId} and key = ${key}`)[0]!;
const waitingFor = (executionId: string, key: string) =>
  until(`${key} waiting for its signal`, async () => {
    const task = await taskOf(executionId, key);
    return task.waiting && task.progress?.status === 'waiting_for_signal' ? task : undefined;
  });
const signal = (executionId: string, name: string, payload?: unknown) => sendSignal(h.ctx, { executionId, name, payload, sentBy: sender });

describe('waitForSignal', () => {
  it('completes with the payload of a signal sent after it began to wait', async () => {
    const executionId = await start([waiter('deploy', 'deployed')]);
    const waiting = await waitingFor(executionId, 'deploy');
    expect(waiting.progress).toMatchObject({ status: 'waiting_for_signal', signal: 'deployed', timeoutAt: null });
    const sent = await signal(executionId, 'deployed', { version: '2.4', url: 'https://example.com' });
    expect(sent).toMatchObject({ signal: { name: 'deployed', executionId, id: expect.any(Number), createdAt: expect.any(String) }, waiters: 1 });
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks[0]?.result).toMatchObject({ waited: true, signal: { id: sent.signal.id, name: 'deployed', payload: { version: '2.4', url: 'https://example.com' }, sentAt: sent.signal.createdAt } });
    const told = (await h.events(executionId)).find((e) => e.data.status === 'signal_received');
    expect(told?.data).toMatchObject({ taskId: waiting.id, signal: 'deployed' });
    await assertExecutionInvariants(h.database, executionId);
  });

  it('keeps a signal sent before the task waits and delivers it; every waiter of the name gets the first one', async () => {
    const executionId = await start([
      { key: 'build', description: 'build', agentType: 'content', input: { hold: true } },
      waiter('first', 'ready', {}, { dependsOn: ['build'] }),
      waiter('second', 'ready', {}, { dependsOn: ['build'] }),
    ]);
    // Nobody waits yet: the signals are kept.
    expect((await signal(executionId, 'ready', { n: 1 })).waiters).toBe(0);
    expect((await signal(executionId, 'ready', { n: 2 })).waiters).toBe(0);
    gates.gate('build').resolve();
    const done = await h.waitForStatus(executionId, ['completed']);
    for (const key of ['first', 'second']) expect(done.tasks.find((t) => t.key === key)?.result).toMatchObject({ signal: { name: 'ready', payload: { n: 1 } } });
    // Neither waited: the signal was there when they asked.
    const waits = (await h.events(executionId)).filter((e) => e.data.status === 'waiting_for_signal');
    expect(waits).toEqual([]);
  });

  it('fails without retries when no signal comes in time', async () => {
    const executionId = await start([waiter('patient', 'never', { timeoutSeconds: 1 }, { maxRetries: 3 })]);
    await waitingFor(executionId, 'patient');
    const failed = await h.waitForStatus(executionId, ['failed']);
    expect(failed.tasks[0]).toMatchObject({ status: 'failed', retry_count: 0, error: 'No signal "never" within 1 s' });
    const failure = (await h.events(executionId)).find((e) => e.type === 'task-failed');
    expect(failure?.data).toMatchObject({ code: SIGNAL_TIMED_OUT, willRetry: false });
    await expect(signal(executionId, 'never')).rejects.toMatchObject({ code: 'CONFLICT', message: 'Cannot signal an execution that is failed' });
  });

  it('holds a signal sent while paused until resume', async () => {
    const executionId = await start([waiter('held', 'go'), { key: 'then', description: 'then', agentType: 'content', dependsOn: ['held'] }]);
    await waitingFor(executionId, 'held');
    await controlExecution(h.ctx, executionId, 'pause');
    expect((await signal(executionId, 'go', 'now')).waiters).toBe(1);
    const paused = await h.waitForStatus(executionId, ['paused']);
    expect(paused.tasks.find((t) => t.key === 'held')).toMatchObject({ status: 'in_progress', progress: { status: 'signal_received', signal: 'go' } });
    expect((await taskOf(executionId, 'held')).waiting).toBe(true);
    await controlExecution(h.ctx, executionId, 'resume');
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks.find((t) => t.key === 'held')?.result).toMatchObject({ signal: { payload: 'now' } });
    await assertExecutionInvariants(h.database, executionId);
  });

  it('wakes at once when the signal comes while its agent is still deciding to wait', async () => {
    const recording = blockAt('worker:before-record', { match: (info) => (info.outcomes as { ok: unknown }[]).some((o) => o.ok === 'wait'), times: 1 });
    const executionId = await start([waiter('racer', 'late', { timeoutSeconds: 3600 })]);
    await recording.reached;
    // The task is running (not waiting yet): the signal is kept, nobody is woken by it.
    expect((await signal(executionId, 'late', 42)).waiters).toBe(0);
    recording.release();
    const done = await h.waitForStatus(executionId, ['completed'], 15_000);
    expect(done.tasks[0]?.result).toMatchObject({ signal: { payload: 42 } });
  });

  it('refuses signals to an unknown or finished execution', async () => {
    await expect(signal('exec_0_nothing', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'Execution not found' });
    const executionId = await start([{ key: 'quick', description: 'quick', agentType: 'content' }]);
    await h.waitForStatus(executionId, ['completed']);
    await expect(signal(executionId, 'x')).rejects.toMatchObject({ code: 'CONFLICT', message: 'Cannot signal an execution that is completed' });
  });

  it('refuses a waitForSignal with a time to wait, and a timeout without a signal', () => {
    const agent = coordinationAgent({ config: agentConfig(), db: undefined as never });
    expect(agent.inputSchema?.safeParse({ waitForSignal: 'ok.name:1-x_y' }).success).toBe(true);
    expect(agent.inputSchema?.safeParse({ waitForSignal: 'has space' }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ waitForSignal: 'x'.repeat(101) }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ waitForSignal: 'x', waitSeconds: 5 }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ timeoutSeconds: 5 }).success).toBe(false);
  });
});
