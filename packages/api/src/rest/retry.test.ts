import { type AgentHandler, clearHooks, NonRetryableError, onHook } from '@strata/engine';
import { executionViewSchema } from '@strata/engine/contract';
import { keyedGates, until } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStreamTestbed, openSse, type StreamTestbed } from '../stream/test-clients.ts';
import type { ApiHarness } from '../testing.ts';

/**
 * `POST /api/executions/:id/retry` (issue 13, re-runs) over the REST adapter and the tRPC
 * procedure behind it, with a real worker, on a real database; its stream over real SSE.
 */
let bed: StreamTestbed;
let h: ApiHarness;
const users: Record<'owner' | 'operator' | 'viewer' | 'outsider', { token: string; userId: string }> = {} as never;
let workspaceId: string;
/** Every agent run: which execution, which task key. */
const runs: { executionId: string; key: string }[] = [];
const failing = new Set<string>();
const holding = new Set<string>();
const gates = keyedGates();

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: 20 });
  h = bed.h;
  const agent: AgentHandler = async ({ task }) => {
    runs.push({ executionId: task.executionId, key: task.key });
    if (holding.has(task.key)) await gates.gate(`${task.executionId}:${task.key}`).promise;
    if (failing.has(task.key)) throw new NonRetryableError(`${task.key} cannot be done`);
    return { by: task.key, in: task.executionId };
  };
  h.registry.register('content', agent).register('email', agent);
  await h.startWorker();
  for (const who of ['owner', 'operator', 'viewer', 'outsider'] as const) users[who] = await h.signup(`${who}@example.com`);
  workspaceId = await h.createWorkspace(users.owner.token, 'Acme');
  await h.addMember(users.owner.token, workspaceId, { token: users.operator.token, email: 'operator@example.com' }, 'operator');
  await h.addMember(users.owner.token, workspaceId, { token: users.viewer.token, email: 'viewer@example.com' }, 'viewer');
});
afterEach(() => {
  clearHooks();
  h.deps.rateLimits.start = 0;
});
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await bed?.close();
});

const ran = (executionId: string) =>
  runs
    .filter((r) => r.executionId === executionId)
    .map((r) => r.key)
    .sort();
const retry = (id: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  h.call('POST', `/api/executions/${id}/retry`, { token: options.token ?? users.operator.token, ...(options.body !== undefined ? { body: options.body } : {}), ...(options.headers ? { headers: options.headers } : {}) });

async function strategy(name: string, items: Record<string, unknown>[]): Promise<string> {
  const created = await h.call('POST', '/api/strategies', { token: users.owner.token, body: { workspaceId, name, items } });
  expect(created.status).toBe(201);
  return created.body.strategy.id;
}

async function start(strategyId: string): Promise<string> {
  const started = await h.call('POST', '/api/executions/start', { token: users.operator.token, body: { strategyId, workspaceId } });
  expect(started.status).toBe(200);
  return started.body.executionId;
}

/** (research, notes) -> send -> wrap; send fails: the run ends failed with research and notes completed. */
async function failedRun(prefix: string): Promise<{ strategyId: string; executionId: string; k: (key: string) => string }> {
  const k = (key: string) => `${prefix}-${key}`;
  const strategyId = await strategy(prefix, [
    { key: k('research'), description: 'Research', agentType: 'content' },
    { key: k('send'), description: 'Send the mail', agentType: 'email', dependsOn: [k('research'), k('notes')], input: { to: ['team@example.com'], subject: 'Hi', body: 'Hello' } },
    { key: k('wrap'), description: 'Wrap up', agentType: 'content', dependsOn: [k('send')] },
    { key: k('notes'), description: 'Notes', agentType: 'content' },
  ]);
  failing.add(k('send'));
  const executionId = await start(strategyId);
  await h.waitForStatus(executionId, ['failed']);
  failing.delete(k('send'));
  return { strategyId, executionId, k };
}

const retriesOf = async (executionId: string) => (await h.database.sql<{ id: string }[]>`select id from executions where retry_of = ${executionId} order by created_at`).map((r) => r.id);
const startCounted = async () => (await h.database.sql<{ n: number }[]>`select coalesce(sum(count), 0)::int as n from rate_limits where workspace_id = ${workspaceId} and bucket = 'start'`)[0]!.n;

describe('POST /api/executions/:id/retry', () => {
  it('answers 201 with the start body and retryOf; the new execution carries over what completed, pinned to the same version and input', async () => {
    const { executionId, strategyId, k } = await failedRun('body');
    const res = await retry(executionId);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['execution', 'executionId', 'message', 'retryOf', 'success']);
    expect(res.body).toMatchObject({ success: true, message: 'Strategy execution started', retryOf: executionId });
    expect(Object.keys(res.body.execution).sort()).toEqual(['id', 'startedAt', 'status', 'strategyId', 'totalTasks']);
    expect(res.body.execution).toMatchObject({ id: res.body.executionId, status: 'pending', strategyId, totalTasks: 4 });
    expect(res.body.executionId).not.toBe(executionId);
    await h.waitForStatus(res.body.executionId, ['completed']);
    expect(ran(res.body.executionId)).toEqual([k('send'), k('wrap')].sort());

    const status = await h.call('GET', `/api/executions/${res.body.executionId}/status?include=detail`, { token: users.viewer.token });
    expect(status.status).toBe(200);
    expect(executionViewSchema.parse(status.body.execution)).toMatchObject({ status: 'completed', trigger: 'retry', retryOf: executionId, strategyVersion: 1, input: {}, completedTasks: 4 });
    const reused = Object.fromEntries(status.body.tasks.map((t: { key: string; reused: boolean }) => [t.key, t.reused]));
    expect(reused).toEqual({ [k('research')]: true, [k('notes')]: true, [k('send')]: false, [k('wrap')]: false });
    // One carried-over task in full: its result is the original's.
    const research = status.body.tasks.find((t: { key: string }) => t.key === k('research'));
    const task = await h.call('GET', `/api/executions/${res.body.executionId}/tasks/${research.id}`, { token: users.viewer.token });
    expect(task.body.task).toMatchObject({ status: 'completed', reused: true, started_at: null, retry_count: 0, result: { by: k('research'), in: executionId } });
    // The original answers as before: still failed, nothing of it reused.
    const original = await h.call('GET', `/api/executions/${executionId}/status?include=detail`, { token: users.viewer.token });
    expect(original.body.execution).toMatchObject({ status: 'failed', trigger: 'api', retryOf: null });
    expect(original.body.tasks.every((t: { reused: boolean }) => t.reused === false)).toBe(true);
  });

  it('streams the carried-over completions marked reused, each once, before the tasks that run', async () => {
    const { executionId, k } = await failedRun('stream');
    const res = await retry(executionId);
    await h.waitForStatus(res.body.executionId, ['completed']);
    const stream = await openSse(`${bed.server.url}/api/executions/${res.body.executionId}/stream?lastEventId=0&include=detail`, { authorization: `Bearer ${users.viewer.token}` });
    expect(stream.status).toBe(200);
    const frames = await stream.ended;
    expect(frames[0]!.event).toBe('state');
    const state = frames[0]!.data.data as { tasks: { id: string; key: string; reused: boolean }[] };
    const idOf = (key: string) => state.tasks.find((t) => t.key === key)!.id;
    const completions = frames.filter((f) => f.event === 'task-completed').map((f) => f.data.data as Record<string, unknown>);
    expect(completions.map((c) => [c.taskId, c.reused ?? false])).toEqual([
      [idOf(k('research')), true],
      [idOf(k('notes')), true],
      [idOf(k('send')), false],
      [idOf(k('wrap')), false],
    ]);
    expect(completions[0]).toMatchObject({ agentType: 'content', status: 'completed', result: { by: k('research'), in: executionId }, originalTaskId: expect.stringMatching(/^task_/) });
    // No agent ran for them: no task-assigned or progress of theirs on the stream.
    const ofReused = frames.filter((f) => f.event !== 'task-completed' && [idOf(k('research')), idOf(k('notes'))].includes((f.data.data as { taskId?: string }).taskId ?? ''));
    expect(ofReused).toEqual([]);
    expect(frames.at(-1)!.event).toBe('execution-completed');
  });

  it('runs every task again with mode all', async () => {
    const { executionId, k } = await failedRun('all');
    const res = await retry(executionId, { body: { mode: 'all' } });
    expect(res.status).toBe(201);
    await h.waitForStatus(res.body.executionId, ['completed']);
    expect(ran(res.body.executionId)).toEqual([k('notes'), k('research'), k('send'), k('wrap')].sort());
    const [row] = await h.database.sql<{ n: number }[]>`select count(*) filter (where reused)::int as n from tasks where execution_id = ${res.body.executionId}`;
    expect(row!.n).toBe(0);
  });

  it('re-runs a cancelled execution, and a retry of a retry', async () => {
    const strategyId = await strategy('cancelled', [
      { key: 'c-first', description: 'First', agentType: 'content' },
      { key: 'c-second', description: 'Second', agentType: 'content', dependsOn: ['c-first'] },
    ]);
    holding.add('c-first');
    const original = await start(strategyId);
    await until('the first task to run', () => runs.some((r) => r.executionId === original));
    expect((await h.call('POST', `/api/executions/${original}/cancel`, { token: users.operator.token })).status).toBe(200);
    // Cancelled, its running task not finished: not yet.
    const early = await retry(original);
    expect(early.status).toBe(409);
    expect(early.body).toEqual({ error: 'Cannot retry an execution that is cancelled until its running tasks have finished' });
    gates.gate(`${original}:c-first`).resolve();
    await h.waitForStatus(original, ['cancelled']);
    holding.delete('c-first');

    failing.add('c-second');
    const first = await retry(original);
    expect(first.status).toBe(201);
    await h.waitForStatus(first.body.executionId, ['failed']);
    expect(ran(first.body.executionId)).toEqual(['c-second']);
    failing.delete('c-second');
    const second = await retry(first.body.executionId);
    expect(second.body.retryOf).toBe(first.body.executionId);
    const done = await h.waitForStatus(second.body.executionId, ['completed']);
    expect(done.execution.retryOf).toBe(first.body.executionId);
    expect(ran(second.body.executionId)).toEqual(['c-second']);
  });

  it.each(['pending', 'running', 'paused', 'completed'])('answers 409 for a %s execution', async (status) => {
    const key = `state-${status}`;
    holding.add(key);
    const id = await start(await strategy(key, [{ key, description: key, agentType: 'content' }]));
    await until('the task to run', () => runs.some((r) => r.executionId === id));
    await h.database.sql`update executions set status = ${status}, completed_at = case when ${status} = 'completed' then now() end where id = ${id}`;
    const res = await retry(id);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: `Cannot retry an execution that is ${status}` });
    expect(await retriesOf(id)).toEqual([]);
    await h.database.sql`update executions set status = 'cancelled', completed_at = now() where id = ${id}`;
    gates.gate(`${id}:${key}`).resolve();
  });

  it('answers 409 when the strategy was archived since', async () => {
    const { executionId, strategyId } = await failedRun('archived');
    expect((await h.call('DELETE', `/api/strategies/${strategyId}`, { token: users.owner.token })).status).toBe(200);
    const res = await retry(executionId);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ error: `Strategy ${strategyId} is archived` });
  });

  it('judges 401, 400 (naming mode), 404 and 403 in that order: viewers and outsiders may not re-run', async () => {
    const { executionId } = await failedRun('access');
    expect(await h.call('POST', `/api/executions/${executionId}/retry`, { body: { mode: 'bogus' } })).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
    expect(await retry('exec_0_unknown', { body: { mode: 'bogus' } })).toMatchObject({ status: 400, body: { error: 'mode: must be one of failed, all', field: 'mode' } });
    expect(await retry(executionId, { body: ['failed'] })).toMatchObject({ status: 400 });
    expect(await retry('exec_0_unknown')).toMatchObject({ status: 404, body: { error: 'Execution not found' } });
    expect(await retry(executionId, { token: users.viewer.token })).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect(await retry(executionId, { token: users.outsider.token })).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect(await retriesOf(executionId)).toEqual([]);
    // The owner (above operator) may; an empty body is mode failed.
    expect((await retry(executionId, { token: users.owner.token, body: {} })).status).toBe(201);
  });

  it('is counted by the start rate limit: 429 once it is spent (after 404/403, before 409), refused calls not counted', async () => {
    const { executionId } = await failedRun('limited');
    h.deps.rateLimits.start = 50;
    const before = await startCounted();
    const res = await retry(executionId);
    expect(res.status).toBe(201);
    expect(res.headers.get('ratelimit-limit')).toBe('50');
    expect(await startCounted()).toBe(before + 1);
    await h.waitForStatus(res.body.executionId, ['completed']);
    // Spend the budget of this minute and the next (whichever the calls below land in).
    await h.database.sql`
      insert into rate_limits (workspace_id, bucket, window_start, count)
      select ${workspaceId}, 'start', to_timestamp(floor(extract(epoch from now()) / 60) * 60) + n * interval '1 minute', 50 from generate_series(0, 1) n
      on conflict (workspace_id, bucket, window_start) do update set count = 50`;
    const spent = await startCounted();
    const refused = await retry(executionId);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'Rate limit exceeded' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // 429 before 409 (a completed execution), after 404 and 403.
    expect((await retry(res.body.executionId)).status).toBe(429);
    expect((await retry('exec_0_unknown')).status).toBe(404);
    expect((await retry(executionId, { token: users.viewer.token })).status).toBe(403);
    expect(await startCounted()).toBe(spent);
    expect(await retriesOf(executionId)).toEqual([res.body.executionId]);
    await h.database.sql`delete from rate_limits where workspace_id = ${workspaceId}`;
  });

  it('honours Idempotency-Key: a repeat answers the same new execution, another request under the key is 409', async () => {
    const { executionId } = await failedRun('idem');
    const headers = { 'idempotency-key': 'retry-idem-1' };
    const first = await retry(executionId, { headers });
    const second = await retry(executionId, { headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.executionId).toBe(first.body.executionId);
    expect(second.body.retryOf).toBe(executionId);
    expect(await retriesOf(executionId)).toEqual([first.body.executionId]);
    // The same key with another mode, or for a start, means another request.
    expect(await retry(executionId, { headers, body: { mode: 'all' } })).toMatchObject({ status: 409, body: { error: 'Idempotency-Key was already used with a different request' } });
    const [row] = await h.database.sql<{ strategy_id: string }[]>`select strategy_id from executions where id = ${executionId}`;
    const start = await h.call('POST', '/api/executions/start', { token: users.operator.token, body: { strategyId: row!.strategy_id, workspaceId }, headers });
    expect(start.status).toBe(409);
    await h.waitForStatus(first.body.executionId, ['completed']);
  });

  it('answers the new execution to a repeat after a lost commit acknowledgement, never starting a second', async () => {
    const { executionId } = await failedRun('lost');
    let committed: string | undefined;
    const lose = onHook('lifecycle:start-committed', (info) => {
      committed = info.executionId as string;
      throw new Error('connection reset after COMMIT');
    });
    const headers = { 'idempotency-key': 'retry-lost-1' };
    const first = await retry(executionId, { headers });
    lose();
    expect(first.status).toBe(500);
    expect(first.body).toEqual({ error: 'Internal server error' });
    const repeat = await retry(executionId, { headers });
    expect(repeat.status).toBe(201);
    expect(repeat.body.executionId).toBe(committed);
    expect(await retriesOf(executionId)).toEqual([committed]);
    await h.waitForStatus(committed!, ['completed']);
  });

  it('leaves nothing behind, its key included, when it fails in the middle of its transaction', async () => {
    const { executionId } = await failedRun('broken');
    let attempted: string | undefined;
    onHook('lifecycle:start-tasks-inserted', (info) => {
      if (info.retryOf !== executionId) return;
      attempted = info.executionId as string;
      throw new Error('the database went away');
    });
    const headers = { 'idempotency-key': 'retry-broken-1' };
    const failed = await retry(executionId, { headers });
    expect(failed.status).toBe(500);
    const [left] = await h.database.sql<{ executions: number; tasks: number; events: number; keys: number }[]>`
      select (select count(*)::int from executions where retry_of = ${executionId}) as executions,
        (select count(*)::int from tasks where execution_id = ${attempted!}) as tasks,
        (select count(*)::int from execution_events where execution_id = ${attempted!}) as events,
        (select count(*)::int from idempotency_keys where key = 'retry-broken-1') as keys`;
    expect(left).toEqual({ executions: 0, tasks: 0, events: 0, keys: 0 });
    clearHooks();
    const again = await retry(executionId, { headers });
    expect(again.status).toBe(201);
    await h.waitForStatus(again.body.executionId, ['completed']);
  });
});
