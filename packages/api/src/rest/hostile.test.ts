import { AGENT_TYPES } from '@strata/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness, type CallOptions, type CallResult } from '../testing.ts';
import { MAX_BODY_BYTES } from '../body.ts';

/**
 * Hostile input: every request answers a clear error (never a 500) or the right result, and a
 * refused write leaves nothing behind. No worker runs: started executions stay running.
 */

let h: ApiHarness;
let token: string;
let workspaceId: string;
let strategyId: string;

const INJECTION = `'; drop table users; --`;
const INJECTIONS = [INJECTION, `" or "1"="1`, `' or 1=1 --`, `1); delete from strategies; --`, `$1 \\x00 %s %n {{7*7}} \${7*7}`];
const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: `Do ${key}`, agentType: 'content', ...extra });
const strategyBody = (extra: Record<string, unknown> = {}) => ({ workspaceId, name: 'Plan', items: [item('a'), item('b', { dependsOn: ['a'] })], ...extra });

const post = (path: string, options: CallOptions = {}) => h.call('POST', path, { token, ...options });
const get = (path: string) => h.call('GET', path, { token });
const createStrategy = (body: unknown) => post('/api/strategies', { body });

async function rowCounts() {
  const [row] = await h.database.sql`select (select count(*) from strategies)::int as strategies, (select count(*) from strategy_items)::int as items`;
  return row;
}

/** Runs a request that must be refused and checks no strategy or item row was written. */
async function refusedWithoutWrites(request: () => Promise<CallResult>, status = 400): Promise<CallResult> {
  const before = await rowCounts();
  const res = await request();
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(typeof res.body?.error).toBe('string');
  expect(await rowCounts()).toEqual(before);
  return res;
}

/** A status the caller can act on: a clear refusal, never a server error. */
function expectClearRefusal(res: CallResult, allowed: number[] = [400, 403, 404]) {
  expect(allowed, `${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
  expect(typeof res.body.error).toBe('string');
}

beforeAll(async () => {
  h = await createApiHarness();
  ({ token } = await h.signup('hostile@example.com'));
  workspaceId = await h.createWorkspace(token, 'Hostile');
  const created = await createStrategy(strategyBody());
  expect(created.status).toBe(201);
  strategyId = created.body.strategy.id;
});
afterAll(async () => {
  await h?.close();
});

describe('body size', () => {
  const big = (bytes: number) => JSON.stringify({ workspaceId: 'ws_x', name: 'x'.repeat(bytes) });

  it('answers 413 JSON for a body over 1 MiB', async () => {
    for (const path of ['/api/strategies', '/api/executions/start', '/api/auth/signup']) {
      const res = await refusedWithoutWrites(() => post(path, { rawBody: big(MAX_BODY_BYTES + 1), headers: { 'content-type': 'application/json' } }), 413);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('answers 413 when Content-Length claims more than 1 MiB, whatever is sent', async () => {
    const res = await refusedWithoutWrites(
      () => post('/api/strategies', { rawBody: JSON.stringify(strategyBody()), headers: { 'content-type': 'application/json', 'content-length': String(50 * MAX_BODY_BYTES) } }),
      413,
    );
    expect(res.body.error).toMatch(/too large/i);
  });

  it('answers 413 when Content-Length claims less than is sent', async () => {
    await refusedWithoutWrites(() => post('/api/strategies', { rawBody: big(2 * MAX_BODY_BYTES), headers: { 'content-type': 'application/json', 'content-length': '10' } }), 413);
  });

  it('accepts a body just under the limit (and judges its content)', async () => {
    const body = JSON.stringify(strategyBody({ description: 'x'.repeat(MAX_BODY_BYTES - 1000) }));
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    // Under the size limit, so the content is judged: the description is too long for the schema.
    const res = await refusedWithoutWrites(() => post('/api/strategies', { rawBody: body }));
    expect(res.body.error).toMatch(/^description: /);
  });

  it('judges credentials before the size', async () => {
    const res = await h.call('POST', '/api/strategies', { rawBody: big(MAX_BODY_BYTES + 1) });
    expect(res).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
  });
});

describe('malformed bodies', () => {
  it.each(['{', '{"workspaceId": ', '{"a":1,}', "{'a':1}", 'undefined', 'NaN', '{"a":1}{"b":2}', '\u0000', '[1,2'])('answers 400 Invalid JSON body for %j', async (raw) => {
    const res = await refusedWithoutWrites(() => post('/api/strategies', { rawBody: raw, headers: { 'content-type': 'application/json' } }));
    expect(res.body).toEqual({ error: 'Invalid JSON body' });
  });

  it('answers 400 for invalid UTF-8 rather than 500', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"workspaceId":"'), 0xff, 0xfe, ...new TextEncoder().encode('","name":"x","items":[]}')]);
    const res = await post('/api/strategies', { rawBody: bytes });
    expectClearRefusal(res);
  });

  it.each([
    ['an array', '[]'],
    ['an array of the right fields', '[{"strategyId":"s","workspaceId":"w"}]'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['true', 'true'],
    ['null', 'null'],
  ])('answers 400 for %s as the body', async (_, raw) => {
    for (const path of ['/api/strategies', '/api/executions/start', '/api/workspaces', '/api/tokens', '/api/auth/signup', '/api/auth/login', `/api/workspaces/${workspaceId}/members`]) {
      const res = await refusedWithoutWrites(() => post(path, { rawBody: raw, headers: { 'content-type': 'application/json' } }));
      expect(res.body.error, path).toBeTruthy();
    }
  });

  it('ignores __proto__ in a body and pollutes nothing', async () => {
    const raw = `{"__proto__": {"polluted": true, "role": "owner"}, "constructor": {"prototype": {"polluted": true}}, "workspaceId": "${workspaceId}", "name": "Proto", "items": []}`;
    const res = await post('/api/strategies', { rawBody: raw });
    expect(res.status).toBe(201);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('wrong types', () => {
  const WRONG = [42, true, null, {}, ['x']];

  /** A wrong value for one field of an otherwise valid strategy, and the field the error must name. */
  const strategyCases: [string, (value: unknown) => Record<string, unknown>][] = [
    ['workspaceId', (v) => strategyBody({ workspaceId: v })],
    ['name', (v) => strategyBody({ name: v })],
    ['description', (v) => strategyBody({ description: v })],
    ['onTaskFailure', (v) => strategyBody({ onTaskFailure: v })],
    ['items', (v) => strategyBody({ items: v })],
    ['items[0]', (v) => strategyBody({ items: [v] })],
    ...(['key', 'description', 'agentType', 'priority', 'dependsOn', 'input', 'maxRetries', 'timeoutSeconds', 'l1', 'l2', 'l3'].map(
      (field) => [`items[1].${field}`, (v: unknown) => strategyBody({ items: [item('a'), item('b', { [field]: v })] })] as [string, (value: unknown) => Record<string, unknown>],
    )),
  ];
  /** Values of the wrong type for each field: strings where numbers go, numbers where strings go. */
  const wrongFor = (field: string): unknown[] => {
    if (/maxRetries|timeoutSeconds/.test(field)) return ['3', true, null, {}, [3], 1.5, -1];
    if (/^items$|dependsOn/.test(field)) return ['a', 42, true, null, {}, ...(field.endsWith('dependsOn') ? [[42], ['']] : [])];
    if (/input/.test(field)) return ['x', 42, true, null, ['x']];
    if (/items\[0\]$/.test(field)) return ['x', 42, true, null, ['x']];
    if (/onTaskFailure|priority/.test(field)) return [...WRONG, 'sometimes'];
    return field === 'description' ? [42, true, {}, ['x']] : WRONG;
  };

  it.each(strategyCases.map(([field, build]) => [field, build] as const))('POST /api/strategies names %s', async (field, build) => {
    for (const value of wrongFor(field)) {
      const res = await refusedWithoutWrites(() => createStrategy(build(value)));
      const named = new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}[:.[]`);
      expect(res.body.error, `${field} = ${JSON.stringify(value)}`).toMatch(named);
    }
  });

  it.each(['strategyId', 'workspaceId'])('POST /api/executions/start names %s', async (field) => {
    for (const value of WRONG) {
      const before = (await h.database.sql`select count(*)::int as n from executions`)[0]?.n;
      const res = await post('/api/executions/start', { body: { strategyId, workspaceId, [field]: value } });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error).toMatch(new RegExp(`^${field}: `));
      expect((await h.database.sql`select count(*)::int as n from executions`)[0]?.n).toBe(before);
    }
  });

  it('answers 400 for an empty or blank id', async () => {
    for (const value of ['', '   ']) {
      expect((await post('/api/executions/start', { body: { strategyId: value, workspaceId } })).body.error).toMatch(/^strategyId/);
      expect((await createStrategy(strategyBody({ workspaceId: value }))).body.error).toMatch(/^workspaceId/);
    }
  });

  it('answers 400 for wrong query parameters', async () => {
    for (const query of ['status=exploded', 'limit=abc', 'limit=0', 'limit=1e9', 'limit=-1', 'cursor=!!!']) {
      const res = await get(`/api/executions?workspaceId=${workspaceId}&${query}`);
      expect(res.status, query).toBe(400);
    }
  });
});

describe('SQL injection', () => {
  it('stores names, descriptions, labels and input values literally', async () => {
    for (const text of INJECTIONS) {
      const input = { q: text, [text]: [text, { nested: text }] };
      const res = await createStrategy({ workspaceId, name: text, description: text, items: [item('a', { description: text, l1: text, l2: text, l3: text, input })] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const read = await get(`/api/strategies/${res.body.strategy.id}`);
      expect(read.body.strategy).toMatchObject({ name: text, description: text });
      expect(read.body.strategy.items[0]).toMatchObject({ description: text, l1: text, l2: text, l3: text, input });
      const listed = await get(`/api/strategies?workspaceId=${workspaceId}`);
      expect(listed.body.strategies.some((s: { name: string }) => s.name === text)).toBe(true);
    }
    const [users] = await h.database.sql`select count(*)::int as n from users`;
    expect(users?.n).toBeGreaterThan(0);
  });

  it('refuses them in keys, agent types and dependencies, naming the item', async () => {
    for (const text of INJECTIONS) {
      expect((await refusedWithoutWrites(() => createStrategy(strategyBody({ items: [item(text)] })))).body.error).toMatch(/^items\[0\]\.key/);
      expect((await refusedWithoutWrites(() => createStrategy(strategyBody({ items: [item('a', { agentType: text })] })))).body.error).toMatch(/^Item "a": unknown agent type/);
      expect((await refusedWithoutWrites(() => createStrategy(strategyBody({ items: [item('a', { dependsOn: [text] })] })))).body.error).toBe(`Item "a": unknown dependency "${text}"`);
    }
  });

  it('stores workspace, user and token names literally', async () => {
    const ws = await post('/api/workspaces', { body: { name: INJECTION } });
    expect(ws.status).toBe(201);
    const signup = await h.call('POST', '/api/auth/signup', { body: { email: 'bobby@example.com', password: 'correct horse battery', name: INJECTION } });
    expect(signup.status).toBe(201);
    const me = await h.call('GET', '/api/me', { token: signup.body.token });
    expect(me.body.user.name).toBe(INJECTION);
    const tok = await post('/api/tokens', { body: { name: INJECTION } });
    expect(tok.status).toBe(201);
    expect(tok.body.name).toBe(INJECTION);
    const mine = await h.call('GET', '/api/me', { token });
    expect(mine.body.workspaces.some((w: { name: string }) => w.name === INJECTION)).toBe(true);
  });

  it('refuses them as ids in bodies, paths and query strings', async () => {
    for (const text of INJECTIONS) {
      const enc = encodeURIComponent(text);
      expectClearRefusal(await createStrategy(strategyBody({ workspaceId: text })), [403]);
      expectClearRefusal(await post('/api/executions/start', { body: { strategyId: text, workspaceId } }), [404]);
      expectClearRefusal(await post('/api/executions/start', { body: { strategyId, workspaceId: text } }), [403]);
      expectClearRefusal(await get(`/api/strategies/${enc}`), [404]);
      expectClearRefusal(await get(`/api/strategies?workspaceId=${enc}`), [403]);
      expectClearRefusal(await get(`/api/executions?workspaceId=${enc}`), [403]);
      expectClearRefusal(await get(`/api/executions?workspaceId=${workspaceId}&status=${enc}`), [400]);
      expectClearRefusal(await get(`/api/executions?workspaceId=${workspaceId}&cursor=${enc}`), [400]);
      expectClearRefusal(await get(`/api/executions/${enc}/status`), [404]);
      for (const action of ['pause', 'resume', 'cancel']) expectClearRefusal(await post(`/api/executions/${enc}/${action}`), [404]);
      expectClearRefusal(await h.call('DELETE', `/api/tokens/${enc}`, { token }), [404]);
      expectClearRefusal(await post(`/api/workspaces/${enc}/members`, { body: { email: 'x@example.com', role: 'viewer' } }), [403]);
      expectClearRefusal(await post(`/api/workspaces/${workspaceId}/members`, { body: { email: text, role: 'viewer' } }), [400]);
      expectClearRefusal(await post(`/api/workspaces/${workspaceId}/members`, { body: { email: 'x@example.com', role: text } }), [400]);
      expectClearRefusal(await h.call('POST', '/api/auth/signup', { body: { email: text, password: 'correct horse battery' } }), [400]);
      expectClearRefusal(await h.call('POST', '/api/auth/login', { body: { email: text, password: text } }), [401]);
      expectClearRefusal(await h.call('POST', '/api/auth/login', { body: { email: `' or 1=1 --@example.com`, password: `' or '1'='1` } }), [401]);
    }
  });

  it('uses an injection-looking Idempotency-Key literally', async () => {
    const headers = { 'idempotency-key': INJECTION };
    const first = await post('/api/executions/start', { body: { strategyId, workspaceId }, headers });
    const second = await post('/api/executions/start', { body: { strategyId, workspaceId }, headers });
    expect(first.status).toBe(200);
    expect(second.body.executionId).toBe(first.body.executionId);
  });

  it('answers 400, not 500, for a malformed percent-encoding in a path', async () => {
    for (const path of ['/api/strategies/%E0%A4%A', '/api/executions/%/status', '/api/executions/%ZZ/pause']) {
      const res = await h.call(path.endsWith('pause') ? 'POST' : 'GET', path, { token });
      expectClearRefusal(res, [400, 404]);
    }
  });
});

describe('unicode', () => {
  const TEXTS = [
    '🚀 Launch 👩‍👩‍👧‍👦 🇳🇴',
    'مرحبا بالعالم — שלום עולם',
    'e\u0301 a\u0308 n\u0303 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
    '\u202Eevil\u202C \u200F\u200E zero\u200Bwidth',
    '中文 日本語 한국어 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  ];

  it('stores names and descriptions exactly, without normalising them', async () => {
    for (const text of TEXTS) {
      const res = await createStrategy({ workspaceId, name: text, description: text, items: [item('a', { description: text, l1: text, input: { text } })] });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { strategy } = (await get(`/api/strategies/${res.body.strategy.id}`)).body;
      expect(strategy.name).toBe(text);
      expect(strategy.description).toBe(text);
      expect(strategy.items[0]).toMatchObject({ description: text, l1: text, input: { text } });
      const ws = await post('/api/workspaces', { body: { name: text } });
      expect(ws.body.workspace.name).toBe(text);
    }
  });

  it('refuses an emoji key, naming the item', async () => {
    const res = await refusedWithoutWrites(() => createStrategy(strategyBody({ items: [item('🚀')] })));
    expect(res.body.error).toMatch(/^items\[0\]\.key/);
  });

  /** Text valid in JSON that PostgreSQL cannot store: refused as a bad body, never a 500 or a silent change. */
  describe.each([
    ['a NUL character', 'a\u0000b'],
    ['an unpaired surrogate', 'a\ud800b'],
  ])('%s', (_, bad) => {
    const cases: [string, () => Record<string, unknown>][] = [
      ['name', () => strategyBody({ name: bad })],
      ['description', () => strategyBody({ description: bad })],
      ['item description', () => strategyBody({ items: [item('a', { description: bad })] })],
      ['item label', () => strategyBody({ items: [item('a', { l2: bad })] })],
      ['input value', () => strategyBody({ items: [item('a', { input: { text: bad } })] })],
      ['nested input value', () => strategyBody({ items: [item('a', { input: { list: [{ deep: [bad] }] } })] })],
      ['input key', () => strategyBody({ items: [item('a', { input: { [bad]: 1 } })] })],
      ['key', () => strategyBody({ items: [item(bad)] })],
      ['agent type', () => strategyBody({ items: [item('a', { agentType: bad })] })],
      ['dependency', () => strategyBody({ items: [item('a', { dependsOn: [bad] })] })],
      ['workspaceId', () => strategyBody({ workspaceId: bad })],
    ];

    it.each(cases)('in the strategy %s answers 400, writing nothing', async (_, build) => {
      const res = await refusedWithoutWrites(() => createStrategy(build()));
      expect(res.body.error).toMatch(/NUL|surrogate|items\[0\]/);
    });

    it('names the field', async () => {
      const res = await createStrategy(strategyBody({ items: [item('a'), item('b', { input: { list: [{ deep: [bad] }] } })] }));
      expect(res.body).toEqual({ error: 'items[1].input.list[0].deep[0]: text must not contain NUL (\\u0000) or unpaired surrogate characters' });
    });

    it('in the 2,500th of 3,000 items answers 400 and writes none of them', async () => {
      const items = Array.from({ length: 3000 }, (_, i) => item(`k${i}`, i === 2499 ? { description: bad } : {}));
      await refusedWithoutWrites(() => createStrategy({ workspaceId, name: 'Poisoned', items }));
    });

    it('in any other body field answers 400', async () => {
      const requests: [string, () => Promise<CallResult>][] = [
        ['workspace name', () => post('/api/workspaces', { body: { name: bad } })],
        ['token name', () => post('/api/tokens', { body: { name: bad } })],
        ['token workspaceId', () => post('/api/tokens', { body: { name: 't', workspaceId: bad } })],
        ['signup name', () => h.call('POST', '/api/auth/signup', { body: { email: 'bad-text@example.com', password: 'correct horse battery', name: bad } })],
        ['signup email', () => h.call('POST', '/api/auth/signup', { body: { email: `${bad}@example.com`, password: 'correct horse battery' } })],
        ['login email', () => h.call('POST', '/api/auth/login', { body: { email: bad, password: 'correct horse battery' } })],
        ['member email', () => post(`/api/workspaces/${workspaceId}/members`, { body: { email: bad, role: 'viewer' } })],
        ['start strategyId', () => post('/api/executions/start', { body: { strategyId: bad, workspaceId } })],
        ['start workspaceId', () => post('/api/executions/start', { body: { strategyId, workspaceId: bad } })],
      ];
      for (const [name, request] of requests) {
        const res = await request();
        expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(typeof res.body.error).toBe('string');
      }
      const [row] = await h.database.sql`select (select count(*) from users where email like 'bad-text@%')::int as users, (select count(*) from workspaces where name like 'a%b')::int as workspaces`;
      expect(row).toEqual({ users: 0, workspaces: 0 });
    });
  });

  it('a NUL character in a path or query string answers 400', async () => {
    const enc = encodeURIComponent('a\u0000b');
    const requests: [string, () => Promise<CallResult>][] = [
      ['strategy id in the path', () => get(`/api/strategies/${enc}`)],
      ['execution id in the path', () => get(`/api/executions/${enc}/status`)],
      ['execution id to cancel', () => post(`/api/executions/${enc}/cancel`)],
      ['token id in the path', () => h.call('DELETE', `/api/tokens/${enc}`, { token })],
      ['workspace id in the path', () => post(`/api/workspaces/${enc}/members`, { body: { email: 'x@example.com', role: 'viewer' } })],
      ['workspaceId in a query', () => get(`/api/strategies?workspaceId=${enc}`)],
      ['cursor in a query', () => get(`/api/executions?workspaceId=${workspaceId}&cursor=${enc}`)],
    ];
    for (const [name, request] of requests) {
      const res = await request();
      expect(res.status, `${name}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(typeof res.body.error).toBe('string');
    }
  });
});

describe('large strategies', () => {
  it('stores 10,000 items and returns them all', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, description: 'd', agentType: 'email' }));
    const raw = JSON.stringify({ workspaceId, name: 'Huge', items });
    expect(raw.length).toBeLessThan(MAX_BODY_BYTES);
    const created = await post('/api/strategies', { rawBody: raw });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(201);
    const read = await get(`/api/strategies/${created.body.strategy.id}`);
    expect(read.status).toBe(200);
    expect(read.body.strategy.items).toHaveLength(10_000);
    expect(read.body.strategy.items.map((i: { key: string }) => i.key)).toEqual(items.map((i) => i.key));
    const [row] = await h.database.sql`select count(*)::int as n from strategy_items where strategy_id = ${created.body.strategy.id} and level = 4`;
    expect(row?.n).toBe(10_000);
  });

  it('stores a 5,000-deep dependency chain and starts it', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ key: `c${i}`, description: 'd', agentType: 'email', ...(i > 0 ? { dependsOn: [`c${i - 1}`] } : {}) }));
    const created = await createStrategy({ workspaceId, name: 'Chain', items });
    expect(created.status, JSON.stringify(created.body).slice(0, 300)).toBe(201);
    const { strategy } = (await get(`/api/strategies/${created.body.strategy.id}`)).body;
    expect(strategy.items).toHaveLength(5000);
    expect(strategy.items[4999].dependsOn).toEqual(['c4998']);
    const started = await post('/api/executions/start', { body: { strategyId: strategy.id, workspaceId } });
    expect(started.status).toBe(200);
    expect(started.body.execution.totalTasks).toBe(5000);
  });

  it('refuses a bad last item of 10,000 without writing any', async () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, description: 'd', agentType: 'email' }));
    items[9999] = { key: 'k0', description: 'd', agentType: 'email' };
    expect((await refusedWithoutWrites(() => createStrategy({ workspaceId, name: 'Dup', items }))).body).toEqual({ error: 'Item "k0": duplicate key', field: 'items[9999].key' });
  });

  it('answers 400 for more items than the limit', async () => {
    // Identical tiny items, so 10,001 of them still fit in 1 MiB; the count is judged first.
    const items = Array.from({ length: 10_001 }, () => ({ key: 'a', description: 'd', agentType: 'email' }));
    const res = await refusedWithoutWrites(() => createStrategy({ workspaceId, name: 'Too many', items }));
    expect(res.body).toEqual({ error: 'items: at most 10000 items per strategy', field: 'items' });
  });

  it('answers a clear error for deeply nested input, never a 500', async () => {
    const depth = 100_000;
    const raw = `{"workspaceId":"${workspaceId}","name":"Deep","items":[{"key":"a","description":"d","agentType":"email","input":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}]}`;
    expect(raw.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await refusedWithoutWrites(() => post('/api/strategies', { rawBody: raw }));
    expect(res.body).toEqual({ error: 'items[0].input: nested deeper than 64 levels', field: 'items[0].input' });
    const nested = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    expect((await createStrategy(strategyBody({ items: [item('a', { input: { x: nested(60) } })] }))).status).toBe(201);
  });
});

describe('strategy validation', () => {
  const cases: [string, unknown[], string, string][] = [
    ['a two-item cycle', [item('a', { dependsOn: ['b'] }), item('b', { dependsOn: ['a'] })], 'Dependency cycle: a -> b -> a', 'items[0].dependsOn'],
    ['a longer cycle', [item('x'), item('a', { dependsOn: ['c'] }), item('b', { dependsOn: ['a'] }), item('c', { dependsOn: ['b', 'x'] })], 'Dependency cycle: a -> c -> b -> a', 'items[1].dependsOn'],
    ['a self dependency', [item('a', { dependsOn: ['a'] })], 'Item "a": depends on itself', 'items[0].dependsOn[0]'],
    ['an unknown agent type', [item('a'), item('b', { agentType: 'telepathy' })], `Item "b": unknown agent type "telepathy" (expected one of ${AGENT_TYPES.join(', ')})`, 'items[1].agentType'],
    ['a duplicate key', [item('a'), item('b'), item('a')], 'Item "a": duplicate key', 'items[2].key'],
    ['an unknown dependency', [item('a'), item('b', { dependsOn: ['ghost'] })], 'Item "b": unknown dependency "ghost"', 'items[1].dependsOn[0]'],
    ['a dependency listed twice', [item('a'), item('b', { dependsOn: ['a', 'a'] })], 'Item "b": duplicate dependency "a"', 'items[1].dependsOn[1]'],
  ];

  it.each(cases)('answers 400 for %s, naming it and its field, and writes nothing', async (_, items, error, field) => {
    const res = await refusedWithoutWrites(() => createStrategy({ workspaceId, name: 'Bad', items }));
    expect(res.body).toEqual({ error, field });
  });

  it('a long cycle is named in full', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => item(`n${i}`, { dependsOn: [`n${(i + 999) % 1000}`] }));
    const res = await refusedWithoutWrites(() => createStrategy({ workspaceId, name: 'Ring', items }));
    expect(res.body.error).toMatch(/^Dependency cycle: n0 -> n999 -> n998 -> .* -> n1 -> n0$/);
  });
});

describe('routing', () => {
  it.each(['/api/nope', '/api/executions/x/y/z', '/api/strategies/a/b', '/api', '/api/executions/x/explode', '/api/../etc/passwd'])('answers 404 JSON for %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'Not found' });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it.each([
    ['GET', '/api/executions/start', ['POST']],
    ['DELETE', '/api/executions/x/status', ['GET']],
    ['PUT', '/api/strategies', ['GET', 'POST']],
    ['GET', '/api/executions/x/pause', ['POST']],
    ['PATCH', '/api/tokens/tok_1', ['DELETE']],
    ['POST', '/api/me', ['GET']],
    ['POST', '/api/openapi.json', ['GET']],
  ])('answers 405 with Allow for %s %s', async (method, path, allow) => {
    const res = await h.call(method, path, { token });
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ error: 'Method not allowed' });
    const header = res.headers.get('allow')?.split(/,\s*/) ?? [];
    for (const m of allow) expect(header).toContain(m);
  });

  it('serves the OpenAPI 3.1 document', async () => {
    const res = await h.call('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const [path, method] of [
      ['/api/executions/start', 'post'],
      ['/api/executions/{id}/status', 'get'],
      ['/api/executions/{id}/pause', 'post'],
      ['/api/executions/{id}/resume', 'post'],
      ['/api/executions/{id}/cancel', 'post'],
      ['/api/strategies', 'post'],
      ['/api/auth/signup', 'post'],
    ] as const) {
      expect(res.body.paths[path], path).toBeDefined();
      expect(res.body.paths[path][method], `${method} ${path}`).toBeDefined();
    }
  });
});
