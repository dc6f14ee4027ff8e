import { AGENT_TYPES } from '@strata/db';
import { AgentRegistry } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handleTrpc } from '../trpc-http.ts';
import { createApiHarness, type ApiHarness, type CallResult } from '../testing.ts';

/**
 * Strategy versions (issue 13), archiving, and the agent catalog (issue 11): who may do what,
 * what an edit changes (a new version, never a running execution), what a refused edit leaves
 * (nothing), and hostile input on the new paths. No worker runs: started executions stay running.
 */

type Caller = 'owner' | 'admin' | 'operator' | 'viewer' | 'outsider';
const CALLERS: Caller[] = ['owner', 'admin', 'operator', 'viewer', 'outsider'];
const RANK: Record<Caller, number> = { outsider: 0, viewer: 1, operator: 2, admin: 3, owner: 4 };

let h: ApiHarness;
const tokens = {} as Record<Caller, string>;
let workspaceId: string;
let users = 0;

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: `Do ${key}`, agentType: 'content', ...extra });
const V1_ITEMS = [item('a'), item('b', { dependsOn: ['a'] })];
const V2_ITEMS = [item('a', { l1: 'Grow', l2: 'Mail' }), item('c', { agentType: 'email', input: { to: ['x@example.com'] } }), item('d', { dependsOn: ['a', 'c'], priority: 'high' })];

/** A custom agent beside a replaced built-in: the catalog lists what this server runs. */
const agents = new AgentRegistry()
  .register('email', {
    description: 'Sends one email.',
    inputSchema: z.object({ to: z.array(z.email()).min(1), subject: z.string().optional() }),
    example: { to: ['team@example.com'] },
    run: () => null,
  })
  .register('content', () => null)
  .register('webhook', { description: 'Posts to a URL.', inputSchema: z.object({ url: z.url(), retries: z.number().int().max(5).default(1) }), run: () => null });

const as = (caller: Caller) => tokens[caller];
async function createStrategy(items: unknown[] = V1_ITEMS, name = 'Launch'): Promise<string> {
  const res = await h.call('POST', '/api/strategies', { token: as('owner'), body: { workspaceId, name, items } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.strategy.id;
}
const put = (id: string, body: unknown, caller: Caller = 'owner') => h.call('PUT', `/api/strategies/${id}`, { token: as(caller), body });
const get = (path: string, caller: Caller = 'owner') => h.call('GET', path, { token: as(caller) });

async function counts() {
  const [row] = await h.database.sql<{ strategies: number; versions: number; items: number }[]>`
    select (select count(*) from strategies)::int as strategies, (select count(*) from strategy_versions)::int as versions, (select count(*) from strategy_items)::int as items`;
  return row;
}

/** A refused request writes nothing: same rows, same latest version. */
async function refusedWithoutWrites(id: string, request: () => Promise<CallResult>, status: number): Promise<CallResult> {
  const before = { counts: await counts(), strategy: (await get(`/api/strategies/${id}`)).body };
  const res = await request();
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(typeof res.body.error).toBe('string');
  expect(await counts()).toEqual(before.counts);
  expect((await get(`/api/strategies/${id}`)).body).toEqual(before.strategy);
  return res;
}

beforeAll(async () => {
  h = await createApiHarness({ agents });
  const owner = await h.signup('owner@example.com');
  tokens.owner = owner.token;
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    users += 1;
    const email = `${role}-${users}@example.com`;
    const user = await h.signup(email);
    tokens[role] = user.token;
    await h.addMember(owner.token, workspaceId, { token: user.token, email }, role);
  }
  tokens.outsider = (await h.signup('outsider@example.com')).token;
});
afterAll(async () => {
  await h?.close();
});

describe('the role matrix', () => {
  const PROCEDURES: { name: string; need: Caller | 'anyone'; success: number; request: (caller: Caller) => Promise<CallResult> }[] = [
    { name: 'GET /api/agents', need: 'anyone', success: 200, request: (c) => get('/api/agents', c) },
    { name: 'GET /api/strategies/:id?version=1', need: 'viewer', success: 200, request: async (c) => get(`/api/strategies/${await createStrategy()}?version=1`, c) },
    { name: 'GET /api/strategies/:id/versions', need: 'viewer', success: 200, request: async (c) => get(`/api/strategies/${await createStrategy()}/versions`, c) },
    { name: 'PUT /api/strategies/:id', need: 'admin', success: 200, request: async (c) => put(await createStrategy(), { name: 'Edited', items: V2_ITEMS }, c) },
    { name: 'DELETE /api/strategies/:id', need: 'admin', success: 200, request: async (c) => h.call('DELETE', `/api/strategies/${await createStrategy()}`, { token: as(c) }) },
  ];
  const cases = CALLERS.flatMap((caller) => PROCEDURES.map((p) => [caller, p.name, p.need === 'anyone' || RANK[caller] >= RANK[p.need]] as const));

  it.each(cases)('%s → %s: allowed %s', async (caller, name, allowed) => {
    const procedure = PROCEDURES.find((p) => p.name === name)!;
    const res = await procedure.request(caller);
    if (allowed) expect(res.status, JSON.stringify(res.body)).toBe(procedure.success);
    else expect(res).toMatchObject({ status: 403, body: { error: 'Access denied' } });
  });

  it('refuses every new path without credentials, before looking at the body', async () => {
    const id = await createStrategy();
    for (const [method, path] of [
      ['GET', '/api/agents'],
      ['GET', `/api/strategies/${id}/versions`],
      ['PUT', `/api/strategies/${id}`],
      ['DELETE', `/api/strategies/${id}`],
    ] as const) {
      const res = await h.call(method, path, { body: method === 'PUT' ? 'not json' : undefined });
      expect(res, `${method} ${path}`).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
    }
  });

  it('a refused edit or archive by a viewer leaves the strategy as it was', async () => {
    const id = await createStrategy();
    await refusedWithoutWrites(id, () => put(id, { name: 'Nope', items: V2_ITEMS }, 'viewer'), 403);
    await refusedWithoutWrites(id, () => h.call('DELETE', `/api/strategies/${id}`, { token: as('operator') }), 403);
    expect((await get(`/api/strategies?workspaceId=${workspaceId}`)).body.strategies.map((s: { id: string }) => s.id)).toContain(id);
  });
});

describe('GET /api/agents', () => {
  it('lists the agent types a strategy can use, a custom module\'s replacement included, with its JSON Schema and example', async () => {
    const res = await get('/api/agents', 'viewer');
    expect(res.status).toBe(200);
    const byType = new Map(res.body.agents.map((entry: { type: string }) => [entry.type, entry]));
    // `webhook`, a type of the custom module's own, is registered but no strategy accepts it: not listed.
    expect([...byType.keys()]).toEqual(['email', 'content']);
    expect(byType.get('email')).toMatchObject({
      description: 'Sends one email.',
      example: { to: ['team@example.com'] },
      inputSchema: { type: 'object', required: ['to'], properties: { to: { type: 'array', items: { type: 'string', format: 'email' } } } },
    });
    expect(byType.get('content')).toEqual({ type: 'content', description: null, inputSchema: null, example: null });
  });

  it('is the same catalog over tRPC', async () => {
    const response = await handleTrpc(new Request('http://strata.test/api/trpc/agents.list', { headers: { authorization: `Bearer ${as('viewer')}` } }), h.deps);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { data: { json: { agents: { type: string }[] } } } };
    expect(body.result.data.json.agents.map((a) => a.type)).toEqual(['email', 'content']);
  });
});

describe('versions', () => {
  it('an edit writes version 2; the latest, each version and the list answer as stored', async () => {
    const id = await createStrategy();
    const first = await get(`/api/strategies/${id}`);
    expect(first.body.strategy).toMatchObject({ id, version: 1, latestVersion: 1, name: 'Launch', archivedAt: null });

    const edited = await put(id, { name: 'Launch v2', description: 'More', onTaskFailure: 'continue', items: V2_ITEMS, baseVersion: 1 }, 'admin');
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.strategy).toMatchObject({ id, version: 2, latestVersion: 2, name: 'Launch v2', description: 'More', onTaskFailure: 'continue' });
    expect(edited.body.strategy.items.map((i: { key: string; dependsOn: string[]; l1: string | null }) => [i.key, i.dependsOn, i.l1])).toEqual([
      ['a', [], 'Grow'],
      ['c', [], null],
      ['d', ['a', 'c'], null],
    ]);

    expect((await get(`/api/strategies/${id}`, 'viewer')).body).toEqual(edited.body);
    const v1 = await get(`/api/strategies/${id}?version=1`, 'viewer');
    expect(v1.body.strategy).toMatchObject({ version: 1, latestVersion: 2, name: 'Launch', description: null, onTaskFailure: 'fail' });
    expect(v1.body.strategy.items.map((i: { key: string }) => i.key)).toEqual(['a', 'b']);
    expect(v1.body.strategy.items).toEqual(first.body.strategy.items);

    const versions = await get(`/api/strategies/${id}/versions`, 'viewer');
    expect(versions.body.versions.map((v: { version: number; name: string; itemCount: number }) => [v.version, v.name, v.itemCount])).toEqual([
      [2, 'Launch v2', 3],
      [1, 'Launch', 2],
    ]);
    const list = await get(`/api/strategies?workspaceId=${workspaceId}`);
    expect(list.body.strategies.find((s: { id: string }) => s.id === id)).toMatchObject({ name: 'Launch v2', version: 2, itemCount: 3, inputSchema: null });
  });

  it("the list carries the latest version's inputSchema and the versions each their own", async () => {
    const id = await createStrategy();
    const schema = { type: 'object', properties: { recipient: { type: 'string', format: 'email' } }, required: ['recipient'], additionalProperties: false };
    expect((await put(id, { name: 'Launch', items: V1_ITEMS, inputSchema: schema })).status).toBe(200);
    const listed = async () => (await get(`/api/strategies?workspaceId=${workspaceId}`, 'viewer')).body.strategies.find((s: { id: string }) => s.id === id);
    expect(await listed()).toMatchObject({ version: 2, inputSchema: schema });
    expect((await get(`/api/strategies/${id}/versions`, 'viewer')).body.versions.map((v: { version: number; inputSchema: unknown }) => [v.version, v.inputSchema])).toEqual([
      [2, schema],
      [1, null],
    ]);
    // An edit without one: the strategy takes no input again.
    expect((await put(id, { name: 'Launch', items: V1_ITEMS })).status).toBe(200);
    expect(await listed()).toMatchObject({ version: 3, inputSchema: null });
  });

  it('the same edit over tRPC gives version 3', async () => {
    const id = await createStrategy();
    await put(id, { name: 'Two', items: V1_ITEMS });
    const response = await handleTrpc(
      new Request('http://strata.test/api/trpc/strategies.update', {
        method: 'POST',
        headers: { authorization: `Bearer ${as('admin')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ json: { id, name: 'Three', items: V1_ITEMS } }),
      }),
      h.deps,
    );
    expect(response.status).toBe(200);
    expect((await get(`/api/strategies/${id}`)).body.strategy).toMatchObject({ version: 3, name: 'Three' });
  });

  it('answers 404 for a version that does not exist and 400 for one that is not a number', async () => {
    const id = await createStrategy();
    expect(await get(`/api/strategies/${id}?version=2`)).toMatchObject({ status: 404, body: { error: `Strategy ${id} has no version 2` } });
    for (const bad of ['0', '-1', 'abc', '1.5', '99999999999', '']) {
      const res = await get(`/api/strategies/${id}?version=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.field, bad).toBe('version');
    }
  });

  it('two edits at once get versions 2 and 3, each whole', async () => {
    const id = await createStrategy();
    const [x, y] = await Promise.all([put(id, { name: 'X', items: V1_ITEMS }), put(id, { name: 'Y', items: V2_ITEMS })]);
    expect([x.body.strategy.version, y.body.strategy.version].sort()).toEqual([2, 3]);
    for (const res of [x, y]) {
      const again = await get(`/api/strategies/${id}?version=${res.body.strategy.version}`);
      expect(again.body.strategy.items).toEqual(res.body.strategy.items);
    }
  });

  it('refuses an edit based on an older version (409) and changes nothing', async () => {
    const id = await createStrategy();
    expect((await put(id, { name: 'Two', items: V1_ITEMS, baseVersion: 1 })).status).toBe(200);
    const res = await refusedWithoutWrites(id, () => put(id, { name: 'Stale', items: V1_ITEMS, baseVersion: 1 }), 409);
    expect(res.body.error).toBe(`Strategy ${id} was edited meanwhile: version 2 is the latest, not 1`);
  });
});

describe('a refused edit changes nothing and names the field', () => {
  const cases: [string, unknown, string, string][] = [
    ['a cycle', { name: 'X', items: [item('a', { dependsOn: ['b'] }), item('b', { dependsOn: ['a'] })] }, 'Dependency cycle: a -> b -> a', 'items[0].dependsOn'],
    ['an unknown dependency', { name: 'X', items: [item('a'), item('b', { dependsOn: ['a', 'ghost'] })] }, 'Item "b": unknown dependency "ghost"', 'items[1].dependsOn[1]'],
    ['an unknown agent type', { name: 'X', items: [item('a', { agentType: 'telepathy' })] }, `Item "a": unknown agent type "telepathy" (expected one of ${AGENT_TYPES.join(', ')})`, 'items[0].agentType'],
    ['a duplicate key', { name: 'X', items: [item('a'), item('a')] }, 'Item "a": duplicate key', 'items[1].key'],
    ['a bad input for the agent', { name: 'X', items: [item('a'), item('m', { agentType: 'email', input: { to: ['not an address'] } })] }, 'Item "m": input to.0: Invalid email address', 'items[1].input.to[0]'],
    ['a missing description', { name: 'X', items: [{ key: 'a', agentType: 'content' }] }, 'Missing fields: items[0].description', 'items[0].description'],
    ['a bad key', { name: 'X', items: [item('a b')] }, 'items[0].key: key may hold letters, digits, and _ . : - only', 'items[0].key'],
    ['a blank name', { name: '  ', items: V1_ITEMS }, 'name: name is required', 'name'],
    ['no items field', { name: 'X' }, 'Missing fields: items', 'items'],
    ['too many retries', { name: 'X', items: [item('a', { maxRetries: 21 })] }, 'items[0].maxRetries: Too big: expected number to be <=20', 'items[0].maxRetries'],
    ['a stale base version', { name: 'X', items: V1_ITEMS, baseVersion: 'one' }, 'baseVersion: Invalid input: expected number, received string', 'baseVersion'],
  ];

  it.each(cases)('%s', async (_, body, error, field) => {
    const id = await createStrategy();
    const res = await refusedWithoutWrites(id, () => put(id, body), 400);
    expect(res.body).toEqual({ error, field });
  });

  it('creation names the same field', async () => {
    const before = await counts();
    const res = await h.call('POST', '/api/strategies', { token: as('owner'), body: { workspaceId, name: 'X', items: [item('a'), item('b', { dependsOn: ['ghost'] })] } });
    expect(res.body).toEqual({ error: 'Item "b": unknown dependency "ghost"', field: 'items[1].dependsOn[0]' });
    expect(await counts()).toEqual(before);
  });

  it('tRPC carries the field in the error data', async () => {
    const id = await createStrategy();
    const response = await handleTrpc(
      new Request('http://strata.test/api/trpc/strategies.update', {
        method: 'POST',
        headers: { authorization: `Bearer ${as('owner')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ json: { id, name: 'X', items: [item('a'), item('m', { agentType: 'email', input: { to: [] } })] } }),
      }),
      h.deps,
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { json: { message: string; data: { field?: string } } } };
    expect(body.error.json.message).toBe('Item "m": input to: Too small: expected array to have >=1 items');
    expect(body.error.json.data.field).toBe('items[1].input.to');
  });

  it.each([
    ['a JSON array', [1, 2]],
    ['a string', 'items'],
    ['null', null],
  ])('answers 400 for %s as the body', async (_, body) => {
    const id = await createStrategy();
    await refusedWithoutWrites(id, () => put(id, body), 400);
  });

  it('answers 400 for text PostgreSQL cannot store and 413 for a body over 1 MiB, changing nothing', async () => {
    const id = await createStrategy();
    const nul = await refusedWithoutWrites(id, () => put(id, { name: 'Bad\u0000name', items: V1_ITEMS }), 400);
    expect(nul.body.error).toBe('name: text must not contain NUL (\\u0000) or unpaired surrogate characters');
    await refusedWithoutWrites(id, () => put(id, { name: 'Huge', items: [item('a', { description: 'x'.repeat(1024 * 1024) })] }), 413);
  });

    it('takes the id from the path and never moves a strategy to another workspace', async () => {
    const id = await createStrategy();
    const other = await createStrategy(V1_ITEMS, 'Other');
    const elsewhere = await h.createWorkspace(as('owner'), 'Elsewhere');
    const res = await put(id, { id: other, workspaceId: elsewhere, name: 'Moved?', items: V1_ITEMS });
    expect(res.body.strategy).toMatchObject({ id, workspaceId, version: 2 });
    expect((await get(`/api/strategies/${other}`)).body.strategy.version).toBe(1);
  });

  it.each([`'; drop table strategies; --`, 'strat_missing', '%00'])('answers 404 or 400 for the id %s, never 500', async (bad) => {
    for (const res of [await put(encodeURIComponent(bad), { name: 'X', items: V1_ITEMS }), await get(`/api/strategies/${encodeURIComponent(bad)}/versions`), await h.call('DELETE', `/api/strategies/${encodeURIComponent(bad)}`, { token: as('owner') })]) {
      expect([400, 404], JSON.stringify(res.body)).toContain(res.status);
    }
  });

  it('answers 403, not 404, for a strategy in a workspace the caller cannot see', async () => {
    const id = await createStrategy();
    expect(await put(id, { name: 'X', items: V1_ITEMS }, 'outsider')).toMatchObject({ status: 403 });
    expect(await get(`/api/strategies/${id}?version=1`, 'outsider')).toMatchObject({ status: 403 });
  });
});

describe('executions pin their version', () => {
  const start = async (strategyId: string) => {
    const res = await h.call('POST', '/api/executions/start', { token: as('operator'), body: { strategyId, workspaceId } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.executionId as string;
  };
  const status = async (executionId: string) => (await get(`/api/executions/${executionId}/status?include=detail`)).body;

  it('an edit during a run changes nothing of that run; the next run takes the new version', async () => {
    const id = await createStrategy();
    const first = await start(id);
    const before = await status(first);
    expect(before.execution.strategyVersion).toBe(1);
    const events = async (executionId: string) => (await h.database.sql`select id, type, data from execution_events where execution_id = ${executionId} order by id`).map((e) => ({ ...e }));
    const eventsBefore = await events(first);

    expect((await put(id, { name: 'Edited', items: V2_ITEMS })).status).toBe(200);

    const after = await status(first);
    expect(after.execution).toEqual(before.execution);
    expect(after.tasks).toEqual(before.tasks);
    expect(after.tasks.map((t: { key: string }) => t.key).sort()).toEqual(['a', 'b']);
    expect(await events(first)).toEqual(eventsBefore);

    const second = await start(id);
    const next = await status(second);
    expect(next.execution.strategyVersion).toBe(2);
    expect(next.tasks.map((t: { key: string }) => t.key).sort()).toEqual(['a', 'c', 'd']);
  });
});

describe('archiving', () => {
  it('takes the strategy out of lists, refuses starts and edits, keeps it and its executions readable', async () => {
    const id = await createStrategy();
    const started = await h.call('POST', '/api/executions/start', { token: as('owner'), body: { strategyId: id, workspaceId } });
    const executionId = started.body.executionId;

    const archived = await h.call('DELETE', `/api/strategies/${id}`, { token: as('admin') });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ success: true, strategy: { id, archivedAt: expect.any(String) } });
    const again = await h.call('DELETE', `/api/strategies/${id}`, { token: as('admin') });
    expect(again.body.strategy.archivedAt).toBe(archived.body.strategy.archivedAt);

    const list = await get(`/api/strategies?workspaceId=${workspaceId}`);
    expect(list.body.strategies.map((s: { id: string }) => s.id)).not.toContain(id);
    expect(await h.call('POST', '/api/executions/start', { token: as('owner'), body: { strategyId: id, workspaceId } })).toMatchObject({
      status: 409,
      body: { error: `Strategy ${id} is archived` },
    });
    await refusedWithoutWrites(id, () => put(id, { name: 'Revived', items: V1_ITEMS }), 409);

    expect((await get(`/api/strategies/${id}`, 'viewer')).body.strategy).toMatchObject({ id, version: 1, archivedAt: archived.body.strategy.archivedAt });
    expect((await get(`/api/strategies/${id}/versions`)).body.versions).toHaveLength(1);
    const execution = await get(`/api/executions/${executionId}/status`, 'viewer');
    expect(execution.status).toBe(200);
    expect(execution.body.execution).toMatchObject({ strategyId: id, strategyVersion: 1, status: 'running' });
  });
});

describe('the OpenAPI document', () => {
  it('describes the new paths with their bodies and answers', async () => {
    const { body } = await h.call('GET', '/api/openapi.json');
    expect(body.paths['/api/strategies/{id}'].put.requestBody.content['application/json'].schema.properties).toHaveProperty('baseVersion');
    expect(body.paths['/api/strategies/{id}'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['id', 'version']);
    expect(body.paths['/api/strategies/{id}'].delete.responses['200']).toBeDefined();
    expect(body.paths['/api/strategies/{id}/versions'].get.responses['200'].content['application/json'].schema.properties.versions.type).toBe('array');
    expect(body.paths['/api/agents'].get.responses['200'].content['application/json'].schema.properties.agents.items.properties).toHaveProperty('inputSchema');
    expect(body.paths['/api/executions/{id}/status'].get.responses['200'].content['application/json'].schema.properties.execution.properties).toHaveProperty('strategyVersion');
  });
});
