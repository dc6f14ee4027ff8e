import { agentConfig } from '@strata/agents/testing';
import { approvalAgent, coordinationAgent } from '@strata/agents';
import { SIGNAL_LIMITS } from '@strata/engine';
import { until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, createApiHarness } from '../testing.ts';

/**
 * Approvals and signals over REST, with the real approval and coordination agents: who may
 * answer (operator and above, a token of such a member; a viewer reads but is refused), what
 * the answers are, and the order DESIGN.md gives: 401, 400, 404/403, 429, then 409.
 */
let h: ApiHarness;
let owner: { token: string; userId: string };
let operator: { token: string; userId: string };
let viewer: { token: string; userId: string };
let outsider: { token: string; userId: string };
let operatorApiToken: string;
let workspaceId: string;

beforeAll(async () => {
  h = await createApiHarness();
  const deps = { config: agentConfig(), db: h.database.db };
  h.registry.register('approval', approvalAgent(deps));
  h.registry.register('coordination', coordinationAgent(deps));
  h.registry.register('content', ({ task }) => ({ done: task.key }));
  await h.startWorker();
  owner = await h.signup('owner@example.com');
  operator = await h.signup('operator@example.com');
  viewer = await h.signup('viewer@example.com');
  outsider = await h.signup('outsider@example.com');
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  await h.addMember(owner.token, workspaceId, { token: operator.token, email: 'operator@example.com' }, 'operator');
  await h.addMember(owner.token, workspaceId, { token: viewer.token, email: 'viewer@example.com' }, 'viewer');
  const created = await h.call('POST', '/api/tokens', { token: operator.token, body: { name: 'CI' } });
  expect(created.status).toBe(201);
  operatorApiToken = created.body.token;
});
afterAll(async () => {
  await h?.close();
});

async function startRun(items: unknown[], ws = workspaceId): Promise<string> {
  const strategy = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId: ws, name: 'Gated', items } });
  expect(strategy.status).toBe(201);
  const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: strategy.body.strategy.id, workspaceId: ws } });
  expect(started.status).toBe(200);
  return started.body.executionId;
}

const gate = { key: 'gate', description: 'Sign off the launch', agentType: 'approval', input: { prompt: 'Launch?', details: 'All checks green' } };
const then = { key: 'launch', description: 'Launch', agentType: 'content', dependsOn: ['gate'] };

/** The id of the task once it waits for its answer. */
async function askingTask(executionId: string, key = 'gate', token = viewer.token): Promise<string> {
  return until(`${key} asking`, async () => {
    const res = await h.call('GET', `/api/executions/${executionId}/status?include=detail,results`, { token });
    const task = res.body.tasks?.find((t: { key: string }) => t.key === key);
    return task?.progress?.status === 'waiting_for_approval' ? (task.id as string) : undefined;
  });
}

const approvePath = (executionId: string, taskId: string, verb = 'approve') => `/api/executions/${executionId}/tasks/${taskId}/${verb}`;

describe('POST /api/executions/:id/tasks/:taskId/approve and /reject', () => {
  it('lets an operator approve: the run goes on, and the answer names who and why', async () => {
    const executionId = await startRun([gate, then]);
    const taskId = await askingTask(executionId);
    const res = await h.call('POST', approvePath(executionId, taskId), { token: operator.token, body: { comment: '  Ship it  ' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      message: 'Approved',
      approval: {
        executionId,
        taskId,
        status: 'approved',
        prompt: 'Launch?',
        details: 'All checks green',
        onTimeout: 'reject',
        timeoutAt: null,
        by: { id: operator.userId, name: null, email: 'operator@example.com' },
        comment: 'Ship it',
        answeredAt: expect.any(String),
        createdAt: expect.any(String),
      },
    });
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks.find((t) => t.key === 'gate')?.result).toEqual({ approved: true, by: res.body.approval.by, at: res.body.approval.answeredAt, comment: 'Ship it', timedOut: false });
    expect(done.tasks.find((t) => t.key === 'launch')?.status).toBe('completed');
  });

  it('refuses a second answer (409), and takes a rejection from an operator API token', async () => {
    const executionId = await startRun([gate, then]);
    const taskId = await askingTask(executionId);
    const rejected = await h.call('POST', approvePath(executionId, taskId, 'reject'), { token: operatorApiToken });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ message: 'Rejected', approval: { status: 'rejected', comment: null, by: { email: 'operator@example.com' } } });
    for (const verb of ['approve', 'reject']) {
      const again = await h.call('POST', approvePath(executionId, taskId, verb), { token: owner.token, body: { comment: 'late' } });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(/^(The approval was already rejected by operator@example.com|Cannot answer an approval of an execution that is failed)$/);
    }
    const failed = await h.waitForStatus(executionId, ['failed']);
    expect(failed.tasks.find((t) => t.key === 'gate')).toMatchObject({ status: 'failed', retry_count: 0, error: 'Rejected by operator@example.com' });
  });

  it('lets a viewer see the approval but not answer it (403); outsiders get 403 too', async () => {
    const executionId = await startRun([gate]);
    const taskId = await askingTask(executionId);
    for (const token of [viewer.token, outsider.token]) {
      const res = await h.call('POST', approvePath(executionId, taskId), { token });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'Access denied' });
    }
    const listed = await h.call('GET', `/api/approvals?workspaceId=${workspaceId}`, { token: viewer.token });
    expect(listed.status).toBe(200);
    expect(listed.body.approvals).toContainEqual(
      expect.objectContaining({ executionId, taskId, taskKey: 'gate', taskDescription: 'Sign off the launch', prompt: 'Launch?', details: 'All checks green', since: expect.any(String), timeoutAt: null, onTimeout: 'reject', strategyName: 'Gated' }),
    );
    expect((await h.call('GET', `/api/approvals?workspaceId=${workspaceId}`, { token: outsider.token })).status).toBe(403);
    // The approval is still open: nobody was allowed to answer.
    expect((await h.call('POST', approvePath(executionId, taskId), { token: owner.token })).status).toBe(200);
    await h.waitForStatus(executionId, ['completed']);
  });

  it('judges in order: 401, 400 naming the field, 404, 403, 429, then 409', async () => {
    const ws = await h.createWorkspace(owner.token, 'Judged');
    const executionId = await startRun([gate, { key: 'plain', description: 'plain', agentType: 'content' }], ws);
    const taskId = await askingTask(executionId, 'gate', owner.token);
    expect((await h.call('POST', approvePath(executionId, taskId))).status).toBe(401);
    const long = await h.call('POST', approvePath(executionId, taskId), { token: owner.token, body: { comment: 'x'.repeat(2001) } });
    expect(long.status).toBe(400);
    expect(long.body.field).toBe('comment');
    const notText = await h.call('POST', approvePath(executionId, taskId), { token: owner.token, body: { comment: 42 } });
    expect(notText).toMatchObject({ status: 400, body: { field: 'comment' } });
    expect((await h.call('POST', approvePath('exec_0_unknown', taskId), { token: owner.token })).body).toEqual({ error: 'Execution not found' });
    expect((await h.call('POST', approvePath(executionId, 'task_unknown'), { token: owner.token })).body).toEqual({ error: 'Task not found' });
    expect((await h.call('POST', approvePath(executionId, taskId), { token: outsider.token })).status).toBe(403);
    const plainId = (await h.waitForStatus(executionId, ['running'])).tasks.find((t) => t.key === 'plain')!.id;
    const notAsking = await h.call('POST', approvePath(executionId, plainId), { token: owner.token });
    expect(notAsking).toMatchObject({ status: 409, body: { error: 'Task "plain" is not waiting for approval: it is a content task' } });

    const limits = h.deps.rateLimits;
    limits.control = 1;
    try {
      expect((await h.call('POST', approvePath(executionId, taskId), { token: owner.token })).status).toBe(200);
      // Spent: a second answer is refused by the limit before its state is looked at; a missing task is still 404.
      const limited = await h.call('POST', approvePath(executionId, taskId), { token: owner.token });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await h.call('POST', approvePath(executionId, 'task_unknown'), { token: owner.token })).status).toBe(404);
      expect((await h.call('POST', approvePath(executionId, taskId), { token: viewer.token })).status).toBe(403);
    } finally {
      limits.control = 0;
    }
    expect((await h.call('POST', approvePath(executionId, taskId), { token: owner.token })).status).toBe(409);
    await h.waitForStatus(executionId, ['completed']);
  });
});

describe('GET /api/approvals', () => {
  it('lists the pending approvals of a workspace, or of one execution, oldest first', async () => {
    const ws = await h.createWorkspace(owner.token, 'Inbox');
    const first = await startRun([gate], ws);
    const firstTask = await askingTask(first, 'gate', owner.token);
    const second = await startRun([{ ...gate, input: { prompt: 'Second?', timeoutSeconds: 3600, onTimeout: 'approve' } }], ws);
    const secondTask = await askingTask(second, 'gate', owner.token);
    const all = await h.call('GET', `/api/approvals?workspaceId=${ws}`, { token: owner.token });
    expect(all.body.approvals.map((a: { taskId: string }) => a.taskId)).toEqual([firstTask, secondTask]);
    expect(all.body.approvals[1]).toMatchObject({ prompt: 'Second?', onTimeout: 'approve', timeoutAt: expect.any(String), executionStatus: 'running' });
    const one = await h.call('GET', `/api/approvals?workspaceId=${ws}&executionId=${second}`, { token: owner.token });
    expect(one.body.approvals.map((a: { taskId: string }) => a.taskId)).toEqual([secondTask]);
    // Another workspace's execution is not listed under this one.
    expect((await h.call('GET', `/api/approvals?workspaceId=${workspaceId}&executionId=${second}`, { token: owner.token })).body.approvals).toEqual([]);
    expect((await h.call('GET', '/api/approvals', { token: owner.token })).body).toMatchObject({ field: 'workspaceId' });
    // Cancelled: no longer pending.
    expect((await h.call('POST', `/api/executions/${first}/cancel`, { token: owner.token })).status).toBe(200);
    expect((await h.call('GET', `/api/approvals?workspaceId=${ws}`, { token: owner.token })).body.approvals.map((a: { taskId: string }) => a.taskId)).toEqual([secondTask]);
    await h.call('POST', approvePath(second, secondTask), { token: owner.token });
    await h.waitForStatus(second, ['completed']);
  });
});

describe('POST /api/executions/:id/signals', () => {
  const waiter = { key: 'wait', description: 'Wait for the deploy', agentType: 'coordination', input: { waitForSignal: 'deployed' } };

  it('delivers a signal to the waiting task (operator, or its API token), with or without a payload', async () => {
    const executionId = await startRun([waiter]);
    const before = await h.call('POST', `/api/executions/${executionId}/signals`, { token: operatorApiToken, body: { name: 'deployed', payload: { version: 7 } } });
    expect(before.status).toBe(201);
    expect(before.body).toEqual({ signal: { id: expect.any(Number), executionId, name: 'deployed', createdAt: expect.any(String) }, waiters: expect.any(Number) });
    const done = await h.waitForStatus(executionId, ['completed']);
    expect(done.tasks[0]?.result).toMatchObject({ signal: { name: 'deployed', payload: { version: 7 } } });

    const later = await startRun([waiter]);
    await until('waiting for the signal', async () => {
      const res = await h.call('GET', `/api/executions/${later}/status?include=results`, { token: owner.token });
      return res.body.tasks?.[0]?.progress?.status === 'waiting_for_signal';
    });
    const after = await h.call('POST', `/api/executions/${later}/signals`, { token: operator.token, body: { name: 'deployed' } });
    expect(after).toMatchObject({ status: 201, body: { waiters: 1 } });
    expect((await h.waitForStatus(later, ['completed'])).tasks[0]?.result).toMatchObject({ signal: { payload: null } });
  });

  it('answers 404 for an unknown execution, 409 for a finished one, 403 for a viewer, 400 naming a bad field', async () => {
    const unknown = await h.call('POST', '/api/executions/exec_0_nothing/signals', { token: owner.token, body: { name: 'x' } });
    expect(unknown).toMatchObject({ status: 404, body: { error: 'Execution not found' } });
    const executionId = await startRun([{ key: 'quick', description: 'quick', agentType: 'content' }]);
    await h.waitForStatus(executionId, ['completed']);
    const finished = await h.call('POST', `/api/executions/${executionId}/signals`, { token: owner.token, body: { name: 'x' } });
    expect(finished).toMatchObject({ status: 409, body: { error: 'Cannot signal an execution that is completed' } });
    expect((await h.call('POST', `/api/executions/${executionId}/signals`, { token: viewer.token, body: { name: 'x' } })).status).toBe(403);
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'no spaces' }, 'name'],
      [{ name: 'x'.repeat(SIGNAL_LIMITS.nameMaxChars + 1) }, 'name'],
      [{ name: 'big', payload: { text: 'x'.repeat(SIGNAL_LIMITS.payloadMaxBytes) } }, 'payload'],
    ] as const) {
      const res = await h.call('POST', `/api/executions/${executionId}/signals`, { token: owner.token, body });
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(res.body.field).toBe(field);
    }
    expect((await h.call('POST', '/api/executions/exec_0_nothing/signals', { body: { name: 'x' } })).status).toBe(401);
  });
});
