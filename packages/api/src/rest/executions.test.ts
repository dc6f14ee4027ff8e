import { blockAt, clearHooks, onHook } from '@strata/engine';
import { executionStatusBodySchema, executionViewSchema, SEED_TASK_FIELDS, TASK_INCLUDE_FIELDS, taskViewSchema } from '@strata/engine/contract';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing.ts';

let h: ApiHarness;
let owner: { token: string; userId: string };
let workspaceId: string;
let strategyId: string;
let release: () => void = () => {};

beforeAll(async () => {
  h = await createApiHarness();
  h.registry.register('content', async ({ task }) => {
    if (task.input.hold) await new Promise<void>((resolve) => (release = resolve));
    return { done: task.key };
  });
  await h.startWorker();
  owner = await h.signup('owner@example.com');
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  const created = await h.call('POST', '/api/strategies', {
    token: owner.token,
    body: {
      workspaceId,
      name: 'Launch',
      items: [
        { key: 'a', description: 'Send outreach email', agentType: 'content', priority: 'high', l1: 'Grow', l2: 'Launch', l3: 'Outreach' },
        { key: 'b', description: 'Follow up', agentType: 'content', dependsOn: ['a'] },
      ],
    },
  });
  expect(created.status).toBe(201);
  strategyId = created.body.strategy.id;
});
afterEach(clearHooks);
afterAll(async () => {
  release();
  await h?.close();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('POST /api/executions/start', () => {
  it("answers the seed's success body", async () => {
    const res = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['execution', 'executionId', 'message', 'success']);
    expect(res.body.success).toBe(true);
    expect(res.body.message).toBe('Strategy execution started');
    expect(res.body.executionId).toMatch(/^exec_\d{13}_[a-z0-9]+$/);
    expect(Object.keys(res.body.execution).sort()).toEqual(['id', 'startedAt', 'status', 'strategyId', 'totalTasks']);
    expect(res.body.execution).toMatchObject({ id: res.body.executionId, status: 'pending', strategyId, totalTasks: 2 });
    expect(res.body.execution.startedAt).toMatch(ISO);
    await h.waitForStatus(res.body.executionId, ['completed']);
  });

  it.each([
    [{}, 'Missing fields: strategyId, workspaceId', 'strategyId'],
    [{ strategyId: 'strat_x' }, 'Missing fields: workspaceId', 'workspaceId'],
    [{ strategyId: 42, workspaceId: 'ws_x' }, 'strategyId: Invalid input: expected string, received number', 'strategyId'],
  ])('answers 400 for a bad body %j', async (body, message, field) => {
    const res = await h.call('POST', '/api/executions/start', { token: owner.token, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: message, field });
  });

  it('answers 400 for a missing body and for broken JSON', async () => {
    expect((await h.call('POST', '/api/executions/start', { token: owner.token })).body).toEqual({ error: 'Missing fields: strategyId, workspaceId', field: 'strategyId' });
    const broken = await h.call('POST', '/api/executions/start', { token: owner.token, rawBody: '{"strategyId": ', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({ error: 'Invalid JSON body' });
  });

  it('answers 401 Unauthorized without or with bad credentials', async () => {
    for (const token of [undefined, 'nonsense', 'strata_nonsense']) {
      const res = await h.call('POST', '/api/executions/start', { ...(token ? { token } : {}), body: { strategyId, workspaceId } });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'Unauthorized' });
    }
  });

  it('answers 403 Access denied to an outsider and 404 for an unknown strategy', async () => {
    const outsider = await h.signup('outsider@example.com');
    const denied = await h.call('POST', '/api/executions/start', { token: outsider.token, body: { strategyId, workspaceId } });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ error: 'Access denied' });
    const missing = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: 'strat_999', workspaceId } });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Strategy not found: strat_999' });
  });
});

describe('GET /api/executions/:id/status', () => {
  it("answers the seed's status body with snake_case tasks", async () => {
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    await h.waitForStatus(started.body.executionId, ['completed']);
    const res = await h.call('GET', `/api/executions/${started.body.executionId}/status`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['execution', 'health', 'metrics', 'tasks']);
    // The body is exactly the contract's: no field missing, none extra.
    executionStatusBodySchema.strict().parse(res.body);
    const { execution, health, tasks, metrics } = res.body;
    expect(execution).toMatchObject({ id: started.body.executionId, status: 'completed', strategyId, totalTasks: 2, completedTasks: 2, failedTasks: 0 });
    expect(execution.startedAt).toMatch(ISO);
    expect(execution.completedAt).toMatch(ISO);
    expect(health).toMatchObject({ score: 100, completionRate: 1, errorRate: 0, issues: [] });
    expect(health.lastChecked).toMatch(ISO);
    expect(typeof metrics.totalDuration).toBe('number');
    expect(typeof metrics.averageTaskDuration).toBe('number');
    expect(tasks).toHaveLength(2);
    // By default each task carries exactly the seed's "Task Structure" fields, its optional result aside.
    const seedTaskStructure = ['id', 'l4_item_id', 'execution_id', 'agent_type', 'status', 'priority', 'description', 'dependencies', 'assigned_at', 'completed_at', 'error', 'retry_count', 'max_retries'];
    expect([...SEED_TASK_FIELDS].sort()).toEqual(seedTaskStructure.sort());
    for (const task of tasks) {
      expect(Object.keys(task).sort()).toEqual([...SEED_TASK_FIELDS].sort());
      expect(task.execution_id).toBe(started.body.executionId);
      expect(task.retry_count).toBe(0);
      expect(task.id).toMatch(/^task_/);
      expect(task.l4_item_id).toMatch(/^l4_/);
      expect(task.agent_type).toBe('content');
      expect(task.status).toBe('completed');
      expect(task.assigned_at).toMatch(ISO);
      expect(task.completed_at).toMatch(ISO);
    }
    const first = tasks.find((t: { description: string }) => t.description === 'Send outreach email');
    expect(first).toMatchObject({ priority: 'high' });
    expect(tasks.find((t: { description: string }) => t.description === 'Follow up')).toMatchObject({ priority: 'medium' });
  });

  it('adds the detail and the results a caller asks for with include, and every field with both', async () => {
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    await h.waitForStatus(started.body.executionId, ['completed']);
    const url = `/api/executions/${started.body.executionId}/status`;
    const byDescription = (tasks: Record<string, unknown>[], description: string) => tasks.find((t) => t.description === description)!;

    const detail = await h.call('GET', `${url}?include=detail`, { token: owner.token });
    expect(detail.status).toBe(200);
    executionStatusBodySchema.strict().parse(detail.body);
    for (const task of detail.body.tasks) expect(Object.keys(task).sort()).toEqual([...SEED_TASK_FIELDS, ...TASK_INCLUDE_FIELDS.detail].sort());
    const first = byDescription(detail.body.tasks, 'Send outreach email');
    expect(first).toMatchObject({ key: 'a', execution_id: started.body.executionId, retry_count: 0, max_retries: 3, dependencies: [], error: null, skip_reason: null });
    expect(byDescription(detail.body.tasks, 'Follow up').dependencies).toEqual([first.id]);

    const results = await h.call('GET', `${url}?include=results`, { token: owner.token });
    expect(results.status).toBe(200);
    for (const task of results.body.tasks) expect(Object.keys(task).sort()).toEqual([...SEED_TASK_FIELDS, ...TASK_INCLUDE_FIELDS.results].sort());
    expect(byDescription(results.body.tasks, 'Send outreach email')).toMatchObject({ result: { done: 'a' }, progress: null });

    // Both, in either order, comma-separated or repeated: every field, as the task endpoint has it.
    for (const query of ['include=detail,results', 'include=results,detail', 'include=results&include=detail', 'include=detail,detail,results']) {
      const all = await h.call('GET', `${url}?${query}`, { token: owner.token });
      expect(all.status).toBe(200);
      for (const task of all.body.tasks) taskViewSchema.strict().parse(task);
      expect(byDescription(all.body.tasks, 'Follow up')).toMatchObject({ key: 'b', result: { done: 'b' } });
    }
    // An empty include is the default body.
    const empty = await h.call('GET', `${url}?include=`, { token: owner.token });
    for (const task of empty.body.tasks) expect(Object.keys(task).sort()).toEqual([...SEED_TASK_FIELDS].sort());
  });

  it('refuses an unknown include with 400 naming the parameter, after credentials and before the execution', async () => {
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    const url = `/api/executions/${started.body.executionId}/status`;
    for (const bad of ['result', 'detail,everything', 'DETAIL', ' detail']) {
      const res = await h.call('GET', `${url}?include=${encodeURIComponent(bad)}`, { token: owner.token });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^include\[\d\]: ".*" is not one of detail, results$/);
      expect(res.body.field).toMatch(/^include\[\d\]$/);
    }
    expect((await h.call('GET', `${url}?include=bogus`)).status).toBe(401);
    // The input is judged before the execution is looked up.
    expect((await h.call('GET', '/api/executions/exec_123/status?include=bogus', { token: owner.token })).status).toBe(400);
  });

  it("answers one task with every field, its result too; 404 for a task that is not the execution's, 401, 403", async () => {
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    await h.waitForStatus(started.body.executionId, ['completed']);
    const status = await h.call('GET', `/api/executions/${started.body.executionId}/status?include=detail,results`, { token: owner.token });
    for (const listed of status.body.tasks) {
      const res = await h.call('GET', `/api/executions/${started.body.executionId}/tasks/${listed.id}`, { token: owner.token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['task']);
      taskViewSchema.strict().parse(res.body.task);
      expect(res.body.task).toEqual(listed);
    }
    const taskId = status.body.tasks[0].id;
    const other = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    const elsewhere = await h.call('GET', `/api/executions/${other.body.executionId}/tasks/${taskId}`, { token: owner.token });
    expect(elsewhere).toMatchObject({ status: 404, body: { error: 'Task not found' } });
    expect((await h.call('GET', `/api/executions/exec_123/tasks/${taskId}`, { token: owner.token })).body).toEqual({ error: 'Execution not found' });
    expect((await h.call('GET', `/api/executions/${started.body.executionId}/tasks/${taskId}`)).status).toBe(401);
    const outsider = await h.signup('task-peeker@example.com');
    const denied = await h.call('GET', `/api/executions/${started.body.executionId}/tasks/${taskId}`, { token: outsider.token });
    expect(denied).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    const tooLong = await h.call('GET', `/api/executions/${started.body.executionId}/tasks/${'t'.repeat(300)}`, { token: owner.token });
    expect(tooLong).toMatchObject({ status: 400, body: { field: 'taskId' } });
  });

  it('answers 404 Execution not found, 401 and 403', async () => {
    const missing = await h.call('GET', '/api/executions/exec_123/status', { token: owner.token });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'Execution not found' });
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    expect((await h.call('GET', `/api/executions/${started.body.executionId}/status`)).status).toBe(401);
    const outsider = await h.signup('nosy@example.com');
    const denied = await h.call('GET', `/api/executions/${started.body.executionId}/status`, { token: outsider.token });
    expect(denied).toMatchObject({ status: 403, body: { error: 'Access denied' } });
  });
});

describe('GET /api/executions/:id', () => {
  it('answers the execution without its tasks, as the contract shapes it; 404, 401 and 403', async () => {
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
    await h.waitForStatus(started.body.executionId, ['completed']);
    const res = await h.call('GET', `/api/executions/${started.body.executionId}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(executionViewSchema.strict().parse(res.body.execution)).toMatchObject({ id: started.body.executionId, status: 'completed', workspaceId, completedTasks: 2, error: null });
    expect(await h.call('GET', '/api/executions/exec_123', { token: owner.token })).toMatchObject({ status: 404, body: { error: 'Execution not found' } });
    expect((await h.call('GET', `/api/executions/${started.body.executionId}`)).status).toBe(401);
    const outsider = await h.signup('peeker@example.com');
    expect(await h.call('GET', `/api/executions/${started.body.executionId}`, { token: outsider.token })).toMatchObject({ status: 403, body: { error: 'Access denied' } });
  });
});

describe('pause, resume, cancel', () => {
  it("answer the seed's bodies and 409 for impossible transitions", async () => {
    const held = await h.call('POST', '/api/strategies', {
      token: owner.token,
      body: { workspaceId, name: 'Held', items: [{ key: 'h', description: 'Hold', agentType: 'content', input: { hold: true } }, { key: 'n', description: 'Next', agentType: 'content', dependsOn: ['h'] }] },
    });
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: held.body.strategy.id, workspaceId } });
    const id = started.body.executionId;
    const pause = await h.call('POST', `/api/executions/${id}/pause`, { token: owner.token });
    expect(pause).toMatchObject({ status: 200, body: { success: true, message: 'Execution paused', execution: { id, status: 'paused' } } });
    expect(Object.keys(pause.body.execution).sort()).toEqual(['id', 'status']);
    expect((await h.call('POST', `/api/executions/${id}/pause`, { token: owner.token, body: {} })).status).toBe(200);
    const resume = await h.call('POST', `/api/executions/${id}/resume`, { token: owner.token });
    expect(resume).toMatchObject({ status: 200, body: { success: true, message: 'Execution resumed', execution: { id, status: 'running' } } });
    const cancel = await h.call('POST', `/api/executions/${id}/cancel`, { token: owner.token });
    expect(cancel).toMatchObject({ status: 200, body: { success: true, message: 'Execution cancelled', execution: { id, status: 'cancelled' } } });
    release();
    const again = await h.call('POST', `/api/executions/${id}/resume`, { token: owner.token });
    expect(again).toEqual(expect.objectContaining({ status: 409, body: { error: 'Cannot resume an execution that is cancelled' } }));
    expect((await h.call('POST', `/api/executions/exec_0_none/cancel`, { token: owner.token })).status).toBe(404);
  });
});

describe('GET /api/executions', () => {
  it('lists newest first, filters by status and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId } });
      ids.push(res.body.executionId);
    }
    await Promise.all(ids.map((id) => h.waitForStatus(id, ['completed'])));
    const page1 = await h.call('GET', `/api/executions?workspaceId=${workspaceId}&status=completed&limit=2`, { token: owner.token });
    expect(page1.status).toBe(200);
    expect(page1.body.executions).toHaveLength(2);
    expect(page1.body.executions[0].id).toBe(ids[2]);
    expect(page1.body.executions[1].id).toBe(ids[1]);
    expect(page1.body.nextCursor).toBeTruthy();
    const page2 = await h.call('GET', `/api/executions?workspaceId=${workspaceId}&status=completed&limit=2&cursor=${page1.body.nextCursor}`, { token: owner.token });
    expect(page2.body.executions[0].id).toBe(ids[0]);
    expect((await h.call('GET', `/api/executions?workspaceId=${workspaceId}&status=exploded`, { token: owner.token })).status).toBe(400);
    expect((await h.call('GET', `/api/executions?workspaceId=${workspaceId}&cursor=!!!`, { token: owner.token })).status).toBe(400);
    expect((await h.call('GET', '/api/executions', { token: owner.token })).body).toEqual({ error: 'Missing fields: workspaceId', field: 'workspaceId' });
  });
});

describe('Idempotency-Key on start', () => {
  it('returns the first execution for a repeat and refuses a different request under the same key', async () => {
    const headers = { 'idempotency-key': 'retry-me-1' };
    const first = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId }, headers });
    const second = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId }, headers });
    expect(second.status).toBe(200);
    expect(second.body.executionId).toBe(first.body.executionId);
    const [count] = await h.database.sql`select count(*)::int as n from executions where id = ${first.body.executionId}`;
    expect(count?.n).toBe(1);
    const another = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Other', items: [] } });
    const other = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: another.body.strategy.id, workspaceId }, headers });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('Idempotency-Key was already used with a different request');
  });

  it('returns the first execution when the commit acknowledgement was lost, and never starts a second', async () => {
    const launch = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Send once', items: [{ key: 'mail', description: 'Email everyone', agentType: 'content' }] } });
    const onceId: string = launch.body.strategy.id;
    let committed: string | undefined;
    const lose = onHook('lifecycle:start-committed', (info) => {
      if (info.strategyId !== onceId) return;
      committed = info.executionId as string;
      throw new Error('connection reset after COMMIT');
    });
    const headers = { 'idempotency-key': 'lost-ack-1' };
    const body = { strategyId: onceId, workspaceId };
    const first = await h.call('POST', '/api/executions/start', { token: owner.token, body, headers });
    lose();
    expect(first.status).toBe(500);
    expect(committed).toMatch(/^exec_/);
    const retry = await h.call('POST', '/api/executions/start', { token: owner.token, body, headers });
    expect(retry.status).toBe(200);
    expect(retry.body.executionId).toBe(committed);
    const [count] = await h.database.sql`select count(*)::int as n from executions where strategy_id = ${onceId}`;
    expect(count?.n).toBe(1);
    const other = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId }, headers });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('Idempotency-Key was already used with a different request');
  });

  it('starts one execution for two requests racing with the same key', async () => {
    const raced = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Raced', items: [{ key: 'x', description: 'Once', agentType: 'content' }] } });
    const racedId: string = raced.body.strategy.id;
    const gate = blockAt('lifecycle:start-before-commit', { match: (info) => info.strategyId === racedId, times: 1 });
    const headers = { 'idempotency-key': 'race-1' };
    const body = { strategyId: racedId, workspaceId };
    const first = h.call('POST', '/api/executions/start', { token: owner.token, body, headers });
    await gate.reached;
    const second = h.call('POST', '/api/executions/start', { token: owner.token, body, headers });
    // The second request is now waiting on the key the first one's open transaction holds.
    for (;;) {
      const [waiting] = await h.database.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%idempotency_keys%'`;
      if (waiting?.n === 1) break;
      await new Promise((r) => setImmediate(r));
    }
    gate.release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.executionId).toBe(a.body.executionId);
    const [count] = await h.database.sql`select count(*)::int as n from executions where strategy_id = ${racedId}`;
    expect(count?.n).toBe(1);
  });
});

describe('errors without leaks', () => {
  it('answers 500 Internal server error when a dependency fails, revealing nothing', async () => {
    const broken = { ...h.deps, engine: { ...h.deps.engine, queue: { ...h.deps.engine.queue, enqueue: async () => { throw new Error('secret connection string postgres://x:y@z'); } } } };
    const { handleRest } = await import('./handler.ts');
    const response = await handleRest(
      new Request('http://strata.test/api/executions/start', { method: 'POST', headers: { authorization: `Bearer ${owner.token}` }, body: JSON.stringify({ strategyId, workspaceId }) }),
      broken,
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'Internal server error' });
  });
});
