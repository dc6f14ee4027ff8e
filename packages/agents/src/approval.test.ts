import { newId, users } from '@strata/db';
import { answerApproval, blockAt, clearHooks, controlExecution, listPendingApprovals, startExecution } from '@strata/engine';
import { assertExecutionInvariants, createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APPROVAL_REJECTED, approvalAgent } from './approval.ts';
import { agentConfig, agentContext } from './testing.ts';

/**
 * The approval agent on the real engine and database: a person's answer wakes the task at
 * once, a rejection fails it without retries, a timeout decides by onTimeout, a pause holds the
 * answer until resume, cancel skips the wait, a worker restart loses nothing, and an answer and a
 * timeout that race give exactly one outcome (forced with hook points, not timing).
 */
let h: EngineHarness;
let worker: Awaited<ReturnType<EngineHarness['startWorker']>>;
let person: { id: string; email: string; name: string };
const gates = keyedGates();
const ran: string[] = [];

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 100 } });
  h.registry.register('approval', approvalAgent({ config: agentConfig(), db: h.database.db }));
  // Work around the approval: records that it ran; `hold` waits for the test.
  h.registry.register('content', async ({ task }) => {
    ran.push(task.key);
    if (task.input.hold) await gates.gate(task.key).promise;
    return { done: task.key };
  });
  worker = await h.startWorker();
  person = { id: newId('usr'), email: 'ada@example.com', name: 'Ada' };
  await h.database.db.insert(users).values({ ...person, passwordHash: 'x' });
});
afterEach(() => clearHooks());
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await h?.close();
});

const approve = (key: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ key, description: `Approve ${key}`, agentType: 'approval', input, ...extra });
const after = (key: string, dependsOn: string) => ({ key, description: key, agentType: 'content', dependsOn: [dependsOn] });

async function start(items: Parameters<EngineHarness['strategy']>[1], extra: Parameters<EngineHarness['strategy']>[2] = {}) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, items, extra);
  const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
  return { ws, executionId: execution.id };
}

type TaskRow = { id: string; status: string; waiting: boolean; progress: Record<string, unknown> | null; result: unknown; error: string | null; retryCount: number; attempt: number };
async function taskOf(executionId: string, key: string): Promise<TaskRow> {
  const [row] = await h.database.sql<TaskRow[]>`
    select id, status, wake_at is not null as waiting, progress, result, error, retry_count as "retryCount", attempt from tasks where execution_id = ${executionId} and key = ${key}`;
  return row!;
}
const approvalRow = async (taskId: string) => (await h.database.sql<{ status: string; answeredBy: string | null; comment: string | null }[]>`select status, answered_by as "answeredBy", comment from approvals where task_id = ${taskId}`)[0];

/** The task is held, asking: it waits (no lease, no worker slot) showing the prompt. */
const asking = (executionId: string, key: string) =>
  until(`${key} asking for approval`, async () => {
    const task = await taskOf(executionId, key);
    return task.waiting && task.progress?.status === 'waiting_for_approval' ? task : undefined;
  });

const answer = (executionId: string, taskId: string, approved: boolean, comment?: string) => answerApproval(h.ctx, { executionId, taskId, approved, userId: person.id, comment });

/** Some transaction of this test database waits for a row or advisory lock (the other side of a forced race holds it). */
const lockWaiter = () =>
  until('a transaction waiting for the lock', async () => {
    const [row] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
    return (row?.n ?? 0) > 0;
  });

const eventsOf = async (executionId: string, taskId: string) => (await h.events(executionId)).filter((e) => e.data.taskId === taskId);

describe('the approval agent', () => {
  it('waits without a slot showing its prompt, and goes on at once when an operator approves', async () => {
    const { ws, executionId } = await start([approve('ship', { prompt: 'Ship {{input.release}}?', details: { notes: 'all green' } }), after('announce', 'ship')], {
      inputSchema: { type: 'object', properties: { release: { type: 'string', default: '2.4' } } },
    });
    const waiting = await asking(executionId, 'ship');
    expect(waiting.progress).toMatchObject({ status: 'waiting_for_approval', prompt: 'Ship 2.4?', timeoutAt: null, onTimeout: 'reject' });
    const asked = (await eventsOf(executionId, waiting.id)).find((e) => e.data.status === 'waiting_for_approval');
    expect(asked?.data).toMatchObject({ status: 'waiting_for_approval', prompt: 'Ship 2.4?', waitingUntil: expect.any(String) });
    const pending = await listPendingApprovals(h.database.db, { workspaceId: ws });
    expect(pending).toEqual([
      expect.objectContaining({ executionId, taskId: waiting.id, taskKey: 'ship', prompt: 'Ship 2.4?', details: { notes: 'all green' }, timeoutAt: null, executionStatus: 'running' }),
    ]);
    expect(ran).not.toContain('announce');

    const view = await answer(executionId, waiting.id, true, 'Looks good');
    expect(view).toMatchObject({ status: 'approved', by: person, comment: 'Looks good', answeredAt: expect.any(String) });
    const done = await h.waitForStatus(executionId, ['completed']);
    const shipped = done.tasks.find((t) => t.key === 'ship');
    expect(shipped?.result).toEqual({ approved: true, by: person, at: view.answeredAt, comment: 'Looks good', timedOut: false });
    expect(ran).toContain('announce');
    expect(await listPendingApprovals(h.database.db, { workspaceId: ws })).toEqual([]);
    // One attempt: it waited and woke, it was never retried.
    expect((await taskOf(executionId, 'ship')).attempt).toBe(1);
    await assertExecutionInvariants(h.database, executionId);
  });

  it('fails the task without retries when rejected, and the execution follows onTaskFailure', async () => {
    const failing = await start([approve('gate', { prompt: 'Go?' }, { maxRetries: 3 }), after('next', 'gate')]);
    const gate = await asking(failing.executionId, 'gate');
    await answer(failing.executionId, gate.id, false, 'Not this week');
    const failed = await h.waitForStatus(failing.executionId, ['failed']);
    expect(failed.tasks.find((t) => t.key === 'gate')).toMatchObject({ status: 'failed', retry_count: 0, error: 'Rejected by Ada <ada@example.com>: Not this week' });
    expect(failed.tasks.find((t) => t.key === 'next')?.status).toBe('skipped');
    const failure = (await eventsOf(failing.executionId, gate.id)).find((e) => e.type === 'task-failed');
    expect(failure?.data).toMatchObject({ status: 'failed', code: APPROVAL_REJECTED, willRetry: false });
    await assertExecutionInvariants(h.database, failing.executionId);

    const going = await start([approve('gate', { prompt: 'Go?' }), after('next', 'gate'), { key: 'other', description: 'other', agentType: 'content' }], { onTaskFailure: 'continue' });
    const other = await asking(going.executionId, 'gate');
    await answer(going.executionId, other.id, false);
    const continued = await h.waitForStatus(going.executionId, ['completed']);
    expect(Object.fromEntries(continued.tasks.map((t) => [t.key, t.status]))).toEqual({ gate: 'failed', next: 'skipped', other: 'completed' });
  });

  it('refuses a second answer, an answer to a task that is not asking, and an unknown task', async () => {
    const { executionId } = await start([approve('once', { prompt: 'Once?' }), after('later', 'once'), { key: 'plain', description: 'plain', agentType: 'content', input: { hold: true } }]);
    const once = await asking(executionId, 'once');
    await answer(executionId, once.id, true);
    await expect(answer(executionId, once.id, false)).rejects.toMatchObject({ code: 'CONFLICT', message: 'The approval was already approved by Ada' });
    const later = await taskOf(executionId, 'later');
    const plain = await taskOf(executionId, 'plain');
    await expect(answer(executionId, plain.id, true)).rejects.toMatchObject({ code: 'CONFLICT', message: 'Task "plain" is not waiting for approval: it is a content task' });
    await expect(answer(executionId, 'task_nope', true)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'Task not found' });
    await expect(answer('exec_0_nope', once.id, true)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'Execution not found' });
    gates.gate('plain').resolve();
    await h.waitForStatus(executionId, ['completed']);
    expect((await approvalRow(once.id))?.status).toBe('approved');
    expect(await approvalRow(later.id)).toBeUndefined();
    await expect(answer(executionId, once.id, true)).rejects.toMatchObject({ code: 'CONFLICT', message: 'Cannot answer an approval of an execution that is completed' });
  });

  it.each([
    ['reject', 'failed'],
    ['approve', 'completed'],
  ] as const)('decides by onTimeout "%s" when nobody answers in time', async (onTimeout, taskStatus) => {
    const { ws, executionId } = await start([approve('slow', { prompt: 'Anyone?', timeoutSeconds: 1, onTimeout }, { maxRetries: 2 })]);
    const slow = await asking(executionId, 'slow');
    expect(slow.progress).toMatchObject({ timeoutAt: expect.any(String), onTimeout });
    const done = await h.waitForStatus(executionId, [onTimeout === 'reject' ? 'failed' : 'completed']);
    const task = done.tasks.find((t) => t.key === 'slow')!;
    expect(task).toMatchObject({ status: taskStatus, retry_count: 0 });
    if (onTimeout === 'approve') expect(task.result).toMatchObject({ approved: true, by: null, comment: null, timedOut: true });
    else expect(task.error).toMatch(/^Not approved in time: rejected at .+ \(onTimeout: reject\)$/);
    expect((await approvalRow(slow.id))?.status).toBe('timed_out');
    await expect(answer(executionId, slow.id, true)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await listPendingApprovals(h.database.db, { workspaceId: ws })).toEqual([]);
    await assertExecutionInvariants(h.database, executionId);
  });

  it('records an answer while paused and goes on only at resume, a rejection too', async () => {
    const { executionId } = await start([approve('a', { prompt: 'A?' }), after('after-a', 'a'), approve('b', { prompt: 'B?' })]);
    const [a, b] = [await asking(executionId, 'a'), await asking(executionId, 'b')];
    await controlExecution(h.ctx, executionId, 'pause');
    await answer(executionId, a.id, true);
    expect((await taskOf(executionId, 'a')).progress).toMatchObject({ status: 'approval_answered', approved: true, by: person });
    // Nothing moves while paused: the task still waits, the execution stays paused; a rejection does not fail it.
    await answer(executionId, b.id, false, 'no');
    const paused = await h.waitForStatus(executionId, ['paused']);
    expect(Object.fromEntries(paused.tasks.map((t) => [t.key, t.status]))).toEqual({ a: 'in_progress', 'after-a': 'pending', b: 'in_progress' });
    expect((await taskOf(executionId, 'a')).waiting).toBe(true);
    await controlExecution(h.ctx, executionId, 'resume');
    const failed = await h.waitForStatus(executionId, ['failed']);
    expect(Object.fromEntries(failed.tasks.map((t) => [t.key, t.status]))).toEqual({ a: 'completed', 'after-a': expect.stringMatching(/^(completed|skipped)$/), b: 'failed' });
    await assertExecutionInvariants(h.database, executionId);
  });

  it('times out while paused without moving the run, and goes on at resume', async () => {
    const { executionId } = await start([approve('late', { prompt: 'Late?', timeoutSeconds: 1, onTimeout: 'approve' }), after('then', 'late')]);
    const late = await asking(executionId, 'late');
    await controlExecution(h.ctx, executionId, 'pause');
    // The deadline passes while paused: decided (timed out), but held until resume.
    await until('the approval timed out', async () => (await approvalRow(late.id))?.status === 'timed_out');
    const held = await until('held for resume', async () => {
      const task = await taskOf(executionId, 'late');
      return task.waiting && task.progress?.status === 'approval_timed_out' ? task : undefined;
    });
    expect(held.status).toBe('in_progress');
    expect((await h.waitForStatus(executionId, ['paused'])).execution.status).toBe('paused');
    await controlExecution(h.ctx, executionId, 'resume');
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks.find((t) => t.key === 'late')?.result).toMatchObject({ approved: true, by: null, timedOut: true });
  });

  it('is skipped when its execution is cancelled while it waits', async () => {
    const { ws, executionId } = await start([approve('never', { prompt: 'Never?' })]);
    const never = await asking(executionId, 'never');
    await controlExecution(h.ctx, executionId, 'cancel');
    const done = await h.waitForStatus(executionId, ['cancelled']);
    expect(done.tasks[0]).toMatchObject({ status: 'skipped' });
    expect(await listPendingApprovals(h.database.db, { workspaceId: ws })).toEqual([]);
    await expect(answer(executionId, never.id, true)).rejects.toMatchObject({ code: 'CONFLICT', message: 'Cannot answer an approval of an execution that is cancelled' });
    // Its wake-up job was cancelled with it: nothing of the wait is left queued.
    const [queued] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = 'agent.approval' and state in ('created', 'retry') and data->>'taskId' = ${never.id}`;
    expect(queued?.n).toBe(0);
    await assertExecutionInvariants(h.database, executionId);
  });

  it('survives a worker restart while it waits: an answer given with no worker running is taken up by the next', async () => {
    const { executionId } = await start([approve('durable', { prompt: 'Still there?' })]);
    const durable = await asking(executionId, 'durable');
    await worker.stop();
    await answer(executionId, durable.id, true, 'yes');
    expect((await taskOf(executionId, 'durable')).status).toBe('in_progress');
    worker = await h.startWorker();
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks[0]?.result).toMatchObject({ approved: true, comment: 'yes' });
    // Asked once: the approval row is the same one, the attempt too.
    expect((await taskOf(executionId, 'durable')).attempt).toBe(1);
    await assertExecutionInvariants(h.database, executionId);
  });

  it('wakes at once when the answer comes while its agent is still deciding to wait', async () => {
    // The agent has asked (the approval exists) but its wait is not recorded yet.
    const recording = blockAt('worker:before-record', { match: (info) => (info.outcomes as { ok: unknown }[]).some((o) => o.ok === 'wait'), times: 1 });
    const { executionId } = await start([approve('quick', { prompt: 'Quick?', timeoutSeconds: 3600 })]);
    const [quickId] = (await recording.reached).taskIds as string[];
    const quick = { id: quickId! };
    expect((await approvalRow(quick.id))?.status).toBe('pending');
    await answer(executionId, quick.id, true);
    recording.release();
    // Without the wake-up as the wait is recorded, this would wait for the hour-long timeout.
    const done = await h.waitForStatus(executionId, ['completed'], 15_000);
    expect(done.tasks[0]?.result).toMatchObject({ approved: true });
    await assertExecutionInvariants(h.database, executionId);
  });

  it('gives exactly one outcome when the timeout takes the approval while an answer waits for it', async () => {
    const { executionId } = await start([approve('race', { prompt: 'Race?', timeoutSeconds: 1, onTimeout: 'reject' })]);
    const race = await asking(executionId, 'race');
    // The deadline's run of the agent holds the execution's lock, about to time the approval out.
    const timeout = blockAt('approvals:before-timeout', { match: (info) => info.taskId === race.id, times: 1 });
    await timeout.reached;
    const answered = answer(executionId, race.id, true).then(
      () => 'answered',
      (error: { message: string }) => error.message,
    );
    await lockWaiter();
    timeout.release();
    expect(await answered).toBe('The approval was already timed out');
    const done = await h.waitForStatus(executionId, ['failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'failed', retry_count: 0 });
    expect((await approvalRow(race.id))?.status).toBe('timed_out');
    const outcomes = (await eventsOf(executionId, race.id)).filter((e) => e.type === 'task-completed' || e.type === 'task-failed');
    expect(outcomes).toHaveLength(1);
    await assertExecutionInvariants(h.database, executionId);
  });

  it('gives exactly one outcome when an answer takes the approval while its timeout waits for it', async () => {
    const { executionId } = await start([approve('race', { prompt: 'Race?', timeoutSeconds: 2, onTimeout: 'reject' })]);
    const race = await asking(executionId, 'race');
    // The answer (given before the deadline) holds the execution's lock until after it.
    const answering = blockAt('approvals:answer-locked', { match: (info) => info.taskId === race.id, times: 1 });
    const answered = answer(executionId, race.id, true, 'just in time');
    await answering.reached;
    await until('the deadline passed', async () => {
      const [row] = await h.database.sql<{ passed: boolean }[]>`select timeout_at <= now() as passed from approvals where task_id = ${race.id}`;
      return row?.passed;
    });
    // The deadline's wake-up job was fetched: its claim waits for the lock the answer holds.
    await lockWaiter();
    answering.release();
    expect(await answered).toMatchObject({ status: 'approved', comment: 'just in time' });
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks[0]?.result).toMatchObject({ approved: true, timedOut: false, comment: 'just in time' });
    expect((await approvalRow(race.id))?.status).toBe('approved');
    const outcomes = (await eventsOf(executionId, race.id)).filter((e) => e.type === 'task-completed' || e.type === 'task-failed');
    expect(outcomes).toHaveLength(1);
    await assertExecutionInvariants(h.database, executionId);
  });
});

describe('the approval agent, on its own', () => {
  const agent = approvalAgent({ config: agentConfig(), db: undefined as never });

  it('completes with the decision when approved, fails without retry when rejected', async () => {
    const decision = { approved: true, by: person, at: '2026-01-01T00:00:00.000Z', comment: null, timedOut: false };
    const asked: unknown[] = [];
    const { ctx } = agentContext({
      input: { prompt: 'Ok {{deps.draft.title}}?', timeoutSeconds: 60 },
      dependencies: [{ taskId: 't1', key: 'draft', agentType: 'content', result: { title: 'the post' } }],
      waitForApproval: async (request) => {
        asked.push(request);
        return decision;
      },
    });
    expect(await agent.run(ctx)).toEqual(decision);
    expect(asked).toEqual([{ prompt: 'Ok the post?', details: undefined, timeoutSeconds: 60, onTimeout: undefined }]);
    const rejected = agentContext({ input: { prompt: 'Ok?' }, waitForApproval: async () => ({ ...decision, approved: false, comment: 'no' }) });
    await expect(Promise.resolve(agent.run(rejected.ctx))).rejects.toMatchObject({ name: 'NonRetryableError', code: APPROVAL_REJECTED, message: 'Rejected by Ada <ada@example.com>: no' });
  });

  it('refuses a bad input and a prompt with an unknown placeholder before asking anyone', async () => {
    expect(agent.inputSchema?.safeParse({ prompt: ' ' }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ prompt: 'x', onTimeout: 'maybe' }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ prompt: 'x', details: 'y'.repeat(17 * 1024) }).success).toBe(false);
    expect(agent.inputSchema?.safeParse({ prompt: 'x', timeoutSeconds: 0 }).success).toBe(false);
    const { ctx } = agentContext({ input: { prompt: 'Ok {{deps.nothing}}?' }, waitForApproval: async () => Promise.reject(new Error('must not ask')) });
    await expect(Promise.resolve(agent.run(ctx))).rejects.toMatchObject({ name: 'NonRetryableError', message: expect.stringMatching(/^Approval prompt: /) });
  });
});
