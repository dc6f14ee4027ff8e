import { claimTasks, recordOutcomes } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../openapi.ts';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/**
 * Strategies within strategies over REST: `strategy` items refused at save (400 naming the field),
 * a cycle refused at start (409), the parent and child fields of an execution (status, one
 * execution, the list and its filter), control calls reaching the children. No worker runs: the
 * parent's `strategy` task is claimed and recorded by hand, as a worker would.
 */
let h: ApiHarness;
let token: string;
let workspaceId: string;
let otherWorkspace: string;

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: `Do ${key}`, agentType: 'content', ...extra });
const sub = (key: string, input: Record<string, unknown>) => ({ key, description: `Run ${key}`, agentType: 'strategy', input });

async function createStrategy(items: unknown[], where = workspaceId): Promise<string> {
  const res = await h.call('POST', '/api/strategies', { token, body: { workspaceId: where, name: 'S', items } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.strategy.id;
}
const start = (strategyId: string) => h.call('POST', '/api/executions/start', { token, body: { strategyId, workspaceId } });

/** Starts `parent` and records its `strategy` task's request as a worker would: the child starts. */
async function startWithChild(parent: string, child: string) {
  const started = await start(parent);
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const executionId: string = started.body.executionId;
  const [task] = await h.database.sql<{ id: string; attempt: number; job_id: string }[]>`select id, attempt, job_id from tasks where execution_id = ${executionId} and agent_type = 'strategy'`;
  const [claimed] = await claimTasks(h.ctx, [{ taskId: task!.id, executionId, attempt: task!.attempt, jobId: task!.job_id }], 'test-worker', 30);
  await recordOutcomes(h.ctx, [{ taskId: claimed!.id, executionId, attempt: claimed!.attempt, jobId: claimed!.jobId, ok: 'child', request: { strategyId: child } }]);
  const [row] = await h.database.sql<{ id: string }[]>`select id from executions where parent_execution_id = ${executionId}`;
  return { executionId, taskId: task!.id, childId: row!.id };
}

beforeAll(async () => {
  h = await createApiHarness();
  token = (await h.signup('owner@example.com')).token;
  workspaceId = await h.createWorkspace(token, 'Acme');
  otherWorkspace = await h.createWorkspace(token, 'Other');
});
afterAll(async () => {
  await h?.close();
});

describe('strategy items at save', () => {
  it('answers 400 naming the field: another workspace’s strategy, an unknown one, bad input', async () => {
    const elsewhere = await createStrategy([item('x')], otherWorkspace);
    const cases: [unknown, string, string][] = [
      [{ strategyId: elsewhere }, `Item "sub": input strategyId: no strategy ${elsewhere} in this workspace`, 'items[0].input.strategyId'],
      [{ strategyId: 'strat_nothere' }, 'Item "sub": input strategyId: no strategy strat_nothere in this workspace', 'items[0].input.strategyId'],
      [{}, 'Item "sub": input strategyId: is required (the id of a strategy of this workspace)', 'items[0].input.strategyId'],
    ];
    for (const [input, error, field] of cases) {
      const res = await h.call('POST', '/api/strategies', { token, body: { workspaceId, name: 'S', items: [sub('sub', input as Record<string, unknown>)] } });
      expect([res.status, res.body]).toEqual([400, { error, field }]);
    }
  });

  it('answers 400 with the path when an edit would make a cycle through two strategies, and changes nothing', async () => {
    const a = await createStrategy([item('x')]);
    const b = await createStrategy([sub('to-a', { strategyId: a })]);
    const res = await h.call('PUT', `/api/strategies/${a}`, { token, body: { name: 'A', items: [item('x'), sub('to-b', { strategyId: b })] } });
    expect([res.status, res.body]).toEqual([400, { error: `Item "to-b": strategy cycle ${a} → ${b} → ${a}`, field: 'items[1].input.strategyId' }]);
    expect((await h.call('GET', `/api/strategies/${a}`, { token })).body.strategy.version).toBe(1);
  });

  it('answers 409 naming the cycle when a stored definition has one at start', async () => {
    const a = await createStrategy([item('x')]);
    const b = await createStrategy([sub('to-a', { strategyId: a })]);
    // Written past the save check (an older version of Strata, or by hand).
    await h.database.sql`update strategy_items set agent_type = 'strategy', input = ${JSON.stringify({ strategyId: b })}::jsonb where strategy_id = ${a} and key = 'x'`;
    const res = await start(a);
    expect([res.status, res.body]).toEqual([409, { error: `Cannot start ${a}: strategy cycle ${a} → ${b} → ${a} (through item "x")` }]);
  });
});

describe('parent and child executions', () => {
  it('shows the parent on the child (status, one execution, the list) and lists an execution’s children', async () => {
    const child = await createStrategy([item('c')]);
    const parent = await createStrategy([sub('sub', { strategyId: child })]);
    const { executionId, taskId, childId } = await startWithChild(parent, child);
    const status = await h.call('GET', `/api/executions/${childId}/status`, { token });
    expect(status.body.execution).toMatchObject({ trigger: 'parent', parentExecutionId: executionId, parentTaskId: taskId });
    const one = await h.call('GET', `/api/executions/${childId}`, { token });
    expect(one.body.execution).toMatchObject({ trigger: 'parent', parentExecutionId: executionId, parentTaskId: taskId });
    const parentView = await h.call('GET', `/api/executions/${executionId}`, { token });
    expect(parentView.body.execution).toMatchObject({ trigger: 'api', parentExecutionId: null, parentTaskId: null });
    const children = await h.call('GET', `/api/executions?workspaceId=${workspaceId}&parentExecutionId=${executionId}`, { token });
    expect(children.body.executions).toEqual([expect.objectContaining({ id: childId, status: 'running', parentExecutionId: executionId, parentTaskId: taskId, trigger: 'parent' })]);
    const all = await h.call('GET', `/api/executions?workspaceId=${workspaceId}`, { token });
    expect(all.body.executions.find((e: { id: string }) => e.id === executionId)).toMatchObject({ parentExecutionId: null });
  });

  it('pauses, resumes and cancels the children with their parent', async () => {
    const child = await createStrategy([item('c')]);
    const parent = await createStrategy([sub('sub', { strategyId: child })]);
    const { executionId, childId } = await startWithChild(parent, child);
    const childStatus = async () => (await h.call('GET', `/api/executions/${childId}`, { token })).body.execution.status;
    expect((await h.call('POST', `/api/executions/${executionId}/pause`, { token })).status).toBe(200);
    expect(await childStatus()).toBe('paused');
    expect((await h.call('POST', `/api/executions/${executionId}/resume`, { token })).status).toBe(200);
    expect(await childStatus()).toBe('running');
    expect((await h.call('POST', `/api/executions/${executionId}/cancel`, { token })).status).toBe(200);
    expect(await childStatus()).toBe('cancelled');
    const parentStatus = await h.call('GET', `/api/executions/${executionId}/status?include=detail`, { token });
    expect(parentStatus.body.execution.status).toBe('cancelled');
    expect(parentStatus.body.tasks[0]).toMatchObject({ status: 'skipped', skip_reason: 'cancelled' });
  });

  it('documents the parent fields and the children filter in the OpenAPI document', () => {
    const doc = openApiDocument({}) as { paths: Record<string, Record<string, { parameters?: { name: string }[] }>>; components: { schemas: Record<string, unknown> } };
    expect(doc.paths['/api/executions']?.get?.parameters).toContainEqual(expect.objectContaining({ name: 'parentExecutionId', in: 'query', required: false }));
    expect(JSON.stringify(doc)).toContain('"parentExecutionId":{');
    expect(JSON.stringify(doc)).toContain('"parentTaskId":{');
    expect(JSON.stringify(doc)).toContain('"parent"');
  });
});
