/**
 * Parameters over REST and tRPC: a strategy's inputSchema (checked as a schema when saved, kept
 * per version), an execution's input (checked at start, 400 naming the field, nothing written on
 * a refusal), and what the execution and its agents see of it.
 */
import { AgentRegistry } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../context.ts';
import { appRouter } from '../root.ts';
import { createApiHarness, type ApiHarness } from '../testing.ts';

let h: ApiHarness;
let owner: { token: string; userId: string };
let workspaceId: string;

const inputSchema = {
  type: 'object',
  properties: {
    recipient: { type: 'string', format: 'email' },
    launch: { type: 'object', properties: { date: { type: 'string', format: 'date' } }, required: ['date'] },
    count: { type: 'integer', minimum: 1, default: 3 },
  },
  required: ['recipient'],
  additionalProperties: false,
};

beforeAll(async () => {
  const agents = new AgentRegistry();
  // The agent answers with what it was told about its execution.
  agents.register('content', async ({ execution }) => ({ seen: execution }));
  h = await createApiHarness({ agents });
  await h.startWorker({ registry: agents });
  owner = await h.signup('owner@example.com');
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
});
afterAll(async () => {
  await h?.close();
});

const items = [{ key: 'write', description: 'Write the announcement', agentType: 'content' }];

async function createStrategy(extra: Record<string, unknown> = {}) {
  const res = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Launch', items, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.strategy as { id: string; version: number; inputSchema: unknown };
}

const start = (strategyId: string, input?: unknown) =>
  h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId, workspaceId, ...(input !== undefined ? { input } : {}) } });

const executionCount = async () => Number((await h.database.sql`select count(*)::int as n from executions`)[0]!.n);

describe('a strategy declares its parameters', () => {
  it('keeps inputSchema per version: the strategy, its versions and an older version read back what was saved', async () => {
    const strategy = await createStrategy({ inputSchema });
    expect(strategy.inputSchema).toEqual(inputSchema);
    const edited = await h.call('PUT', `/api/strategies/${strategy.id}`, { token: owner.token, body: { name: 'Launch', items } });
    expect(edited.status).toBe(200);
    expect(edited.body.strategy).toMatchObject({ version: 2, inputSchema: null });
    expect((await h.call('GET', `/api/strategies/${strategy.id}?version=1`, { token: owner.token })).body.strategy.inputSchema).toEqual(inputSchema);
    const versions = (await h.call('GET', `/api/strategies/${strategy.id}/versions`, { token: owner.token })).body.versions;
    expect(versions.map((v: { version: number; inputSchema: unknown }) => [v.version, v.inputSchema])).toEqual([
      [2, null],
      [1, inputSchema],
    ]);
  });

  it("keeps the author's order of the parameters", async () => {
    const ordered = { type: 'object', properties: { zeta: { type: 'string' }, alpha: { type: 'string' }, middle: { type: 'integer' } } };
    const strategy = await createStrategy({ inputSchema: ordered });
    const read = (await h.call('GET', `/api/strategies/${strategy.id}`, { token: owner.token })).body.strategy.inputSchema;
    expect(Object.keys(read.properties)).toEqual(['zeta', 'alpha', 'middle']);
    const listed = (await h.call('GET', `/api/strategies?workspaceId=${workspaceId}`, { token: owner.token })).body.strategies.find((s: { id: string }) => s.id === strategy.id);
    expect(Object.keys(listed.inputSchema.properties)).toEqual(['zeta', 'alpha', 'middle']);
  });

  it.each([
    ['not an object', ['a'], 'inputSchema: must be a JSON Schema object'],
    ['not an object schema', { type: 'array' }, 'inputSchema: must describe an object (type "object"): an execution\'s input is an object'],
    ['a misspelt keyword', { type: 'object', properties: { a: { type: 'string', maxLenght: 3 } } }, 'inputSchema: strict mode: unknown keyword: "maxLenght"'],
    ['a malformed keyword', { type: 'object', properties: { a: { type: 'strin' } } }, 'inputSchema: data/properties/a/type must be equal to one of the allowed values, data/properties/a/type must be array, data/properties/a/type must match a schema in anyOf'],
  ])('refuses %s with 400 naming inputSchema, at creation and at an edit, writing nothing', async (_, schema, message) => {
    const before = Number((await h.database.sql`select count(*)::int as n from strategy_versions`)[0]!.n);
    const created = await h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId, name: 'Bad', items, inputSchema: schema } });
    expect(created.status).toBe(400);
    expect(created.body).toEqual({ error: message, field: 'inputSchema' });
    const strategy = await createStrategy();
    const edit = await h.call('PUT', `/api/strategies/${strategy.id}`, { token: owner.token, body: { name: 'Bad', items, inputSchema: schema } });
    expect(edit.status).toBe(400);
    expect(edit.body.field).toBe('inputSchema');
    expect(Number((await h.database.sql`select count(*)::int as n from strategy_versions`)[0]!.n)).toBe(before + 1);
    expect((await h.call('GET', `/api/strategies/${strategy.id}`, { token: owner.token })).body.strategy).toMatchObject({ version: 1, inputSchema: null });
  });
});

describe('an execution takes an input', () => {
  it('keeps the input, shows it in the status body with how it was started, and gives it to its agents', async () => {
    const strategy = await createStrategy({ inputSchema });
    const input = { recipient: 'team@example.com', launch: { date: '2026-12-24' } };
    const started = await start(strategy.id, input);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const executionId = started.body.executionId as string;
    await h.waitForStatus(executionId, ['completed']);
    const status = (await h.call('GET', `/api/executions/${executionId}/status?include=results`, { token: owner.token })).body;
    // The schema's default for `count` is filled in: the execution keeps what it ran with.
    const effective = { ...input, count: 3 };
    expect(status.execution).toMatchObject({ trigger: 'api', scheduleId: null, retryOf: null, strategyVersion: 1 });
    expect(status.execution.input).toEqual(effective);
    expect(status.tasks[0].result).toEqual({ seen: { id: executionId, input: effective } });
  });

  it.each([
    ['a missing required field', {}, 'input.recipient: is required', 'input.recipient'],
    ['a value of the wrong type', { recipient: 7 }, 'input.recipient: must be string', 'input.recipient'],
    ['a value in the wrong format', { recipient: 'nobody' }, 'input.recipient: must match format "email"', 'input.recipient'],
    ['a nested missing field', { recipient: 'a@example.com', launch: {} }, 'input.launch.date: is required', 'input.launch.date'],
    ['a field the schema does not declare', { recipient: 'a@example.com', colour: 'red' }, "input.colour: is not allowed by the strategy's inputSchema", 'input.colour'],
    ['a number below its minimum', { recipient: 'a@example.com', count: 0 }, 'input.count: must be >= 1', 'input.count'],
    ['an input that is not an object', 'hello', 'input: must be an object', 'input'],
  ])('refuses %s with 400 naming the field, starting nothing', async (_, input, error, field) => {
    const strategy = await createStrategy({ inputSchema });
    const before = await executionCount();
    const res = await start(strategy.id, input);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error, field });
    expect(await executionCount()).toBe(before);
  });

  it('a strategy without inputSchema takes {} or nothing, and refuses any other input', async () => {
    const strategy = await createStrategy();
    const bare = await start(strategy.id);
    expect(bare.status).toBe(200);
    expect((await start(strategy.id, {})).status).toBe(200);
    const refused = await start(strategy.id, { recipient: 'a@example.com' });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'input: this strategy declares no inputSchema, so it takes no input', field: 'input' });
    await h.waitForStatus(bare.body.executionId, ['completed']);
    expect((await h.call('GET', `/api/executions/${bare.body.executionId}/status`, { token: owner.token })).body.execution.input).toEqual({});
  });

  it('an edit of the schema never changes a started execution; the next start is checked against the new one', async () => {
    const strategy = await createStrategy({ inputSchema });
    const first = await start(strategy.id, { recipient: 'a@example.com' });
    const tightened = { ...inputSchema, required: ['recipient', 'launch'] };
    expect((await h.call('PUT', `/api/strategies/${strategy.id}`, { token: owner.token, body: { name: 'Launch', items, inputSchema: tightened } })).status).toBe(200);
    await h.waitForStatus(first.body.executionId, ['completed']);
    const status = (await h.call('GET', `/api/executions/${first.body.executionId}/status`, { token: owner.token })).body;
    expect(status.execution).toMatchObject({ strategyVersion: 1 });
    expect(status.execution.input).toEqual({ recipient: 'a@example.com', count: 3 });
    expect((await start(strategy.id, { recipient: 'a@example.com' })).body).toEqual({ error: 'input.launch: is required', field: 'input.launch' });
    expect((await start(strategy.id, { recipient: 'a@example.com', launch: { date: '2027-01-04' } })).status).toBe(200);
  });

  it('tRPC applies the same checks and answers the same message with the field in data', async () => {
    const strategy = await createStrategy({ inputSchema });
    const ctx = await createContext(h.deps, new Headers({ authorization: `Bearer ${owner.token}` }));
    const caller = appRouter.createCaller(ctx);
    await expect(caller.executions.start({ strategyId: strategy.id, workspaceId, input: { recipient: 3 } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'input.recipient: must be string',
    });
    const started = await caller.executions.start({ strategyId: strategy.id, workspaceId, input: { recipient: 'a@example.com' } });
    const got = await caller.executions.get({ id: started.executionId });
    expect(got.execution).toMatchObject({ input: { recipient: 'a@example.com' }, trigger: 'api', retryOf: null, scheduleId: null });
  });

  it('an Idempotency-Key repeat with another input is refused, with the same input returns the first execution', async () => {
    const strategy = await createStrategy({ inputSchema });
    const headers = { 'idempotency-key': `key-${strategy.id}` };
    const body = { strategyId: strategy.id, workspaceId, input: { recipient: 'a@example.com' } };
    const first = await h.call('POST', '/api/executions/start', { token: owner.token, headers, body });
    const again = await h.call('POST', '/api/executions/start', { token: owner.token, headers, body });
    expect(again.body.executionId).toBe(first.body.executionId);
    const other = await h.call('POST', '/api/executions/start', { token: owner.token, headers, body: { ...body, input: { recipient: 'b@example.com' } } });
    expect(other.status).toBe(409);
  });
});

describe('the OpenAPI document', () => {
  it('documents inputSchema on strategies, input on start and the new execution fields', async () => {
    const { body } = await h.call('GET', '/api/openapi.json');
    expect(body.paths['/api/strategies'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('inputSchema');
    expect(body.paths['/api/executions/start'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('input');
    const execution = body.paths['/api/executions/{id}/status'].get.responses['200'].content['application/json'].schema.properties.execution.properties;
    for (const field of ['input', 'trigger', 'scheduleId', 'retryOf']) expect(execution).toHaveProperty(field);
  });
});
