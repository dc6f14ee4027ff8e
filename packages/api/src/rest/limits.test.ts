import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/** Issue 14, load under control, over REST: workspace limits, a strategy's maxConcurrency and concurrency keys. */
let h: ApiHarness;
let users = 0;
let owner: { token: string; email: string };
let ws: string;

async function newUser() {
  users += 1;
  const email = `limits-${users}@example.com`;
  return { email, ...(await h.signup(email)) };
}
const limits = (token: string | undefined, body?: unknown, workspaceId = ws) =>
  h.call(body === undefined ? 'GET' : 'PUT', `/api/workspaces/${workspaceId}/limits`, { ...(token ? { token } : {}), ...(body === undefined ? {} : { body }) });

beforeAll(async () => {
  h = await createApiHarness();
  owner = await newUser();
  ws = await h.createWorkspace(owner.token, 'Limited');
});
afterAll(async () => {
  await h?.close();
});

describe('GET and PUT /api/workspaces/:id/limits', () => {
  it('starts unlimited, replaces the whole set, and reads back what was set', async () => {
    expect(await limits(owner.token)).toMatchObject({ status: 200, body: { workspaceId: ws, agents: {}, windowSeconds: 60 } });
    const set = await limits(owner.token, { agents: { email: { concurrency: 2, perMinute: 30 }, research: { perMinute: 120 } } });
    expect(set).toMatchObject({ status: 200, body: { agents: { email: { concurrency: 2, perMinute: 30 }, research: { concurrency: null, perMinute: 120 } } } });
    expect((await limits(owner.token)).body.agents).toEqual(set.body.agents);
    // The set replaces: email left out is unlimited again; a type with nothing set is no limit at all.
    const replaced = await limits(owner.token, { agents: { research: { perMinute: 60 }, content: {} } });
    expect(replaced.body.agents).toEqual({ research: { concurrency: null, perMinute: 60 } });
  });

  it('answers 400 naming the field for an unknown type, a value that is not a positive integer or too large, an unknown field', async () => {
    const cases: [unknown, string][] = [
      [{ agents: { emial: { concurrency: 1 } } }, 'agents.emial'],
      [{ agents: { email: { concurrency: 0 } } }, 'agents.email.concurrency'],
      [{ agents: { email: { concurrency: 1.5 } } }, 'agents.email.concurrency'],
      [{ agents: { email: { perMinute: -3 } } }, 'agents.email.perMinute'],
      [{ agents: { email: { perMinute: '30' } } }, 'agents.email.perMinute'],
      [{ agents: { email: { concurrency: 10_001 } } }, 'agents.email.concurrency'],
      [{ agents: { email: { perMinute: 100_001 } } }, 'agents.email.perMinute'],
      [{ agents: { email: { concurency: 2 } } }, 'agents.email'],
      [{ agents: [] }, 'agents'],
      [{}, 'agents'],
    ];
    for (const [body, field] of cases) {
      const res = await limits(owner.token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.field, JSON.stringify(body)).toBe(field);
      expect(res.body.error).toMatch(field === 'agents' ? /agents/ : new RegExp(field.replace(/\./g, '\\.')));
    }
    expect((await limits(owner.token, { agents: { emial: { concurrency: 1 } } })).body.error).toMatch(/unknown agent type "emial"/);
    expect((await limits(owner.token, { agents: { email: { concurrency: 10_001 } } })).body.error).toBe('agents.email.concurrency: must be at most 10,000');
  });

  it('lets every member read and only admins write: 403 for operators and viewers, 401 without credentials, 403 outside', async () => {
    const operator = await newUser();
    const viewer = await newUser();
    const admin = await newUser();
    const outsider = await newUser();
    await h.addMember(owner.token, ws, operator, 'operator');
    await h.addMember(owner.token, ws, viewer, 'viewer');
    await h.addMember(owner.token, ws, admin, 'admin');
    const body = { agents: { email: { concurrency: 3 } } };
    expect((await limits(viewer.token)).status).toBe(200);
    expect(await limits(viewer.token, body)).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect(await limits(operator.token, body)).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect((await limits(admin.token, body)).body.agents).toEqual({ email: { concurrency: 3, perMinute: null } });
    expect((await limits(undefined)).status).toBe(401);
    expect((await limits(undefined, body)).status).toBe(401);
    expect(await limits(outsider.token)).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    expect(await limits(outsider.token, body)).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    // Credentials, then the body, then the caller's rights.
    expect((await limits(outsider.token, { agents: { email: { concurrency: 0 } } })).status).toBe(400);
  });
});

describe('limits in a strategy', () => {
  const item = (extra: Record<string, unknown> = {}) => ({ key: 'send', description: 'Send', agentType: 'email', input: { to: 'ann@example.com' }, ...extra });
  const create = (body: Record<string, unknown>) => h.call('POST', '/api/strategies', { token: owner.token, body: { workspaceId: ws, name: 'Mail', ...body } });

  it('keeps maxConcurrency and the items’ keys per version, and pins maxConcurrency in each execution', async () => {
    const created = await create({ maxConcurrency: 3, items: [item({ concurrencyKey: '{{to}}', keyConcurrency: 1, keyPerMinute: 10 })] });
    expect(created.status).toBe(201);
    expect(created.body.strategy).toMatchObject({ maxConcurrency: 3, items: [{ concurrencyKey: '{{to}}', keyConcurrency: 1, keyPerMinute: 10 }] });
    const started = await h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: created.body.strategy.id, workspaceId: ws } });
    expect(started.status).toBe(200);
    const edited = await h.call('PUT', `/api/strategies/${created.body.strategy.id}`, { token: owner.token, body: { name: 'Mail', items: [item()] } });
    expect(edited.body.strategy).toMatchObject({ version: 2, maxConcurrency: null, items: [{ concurrencyKey: null, keyConcurrency: null, keyPerMinute: null }] });
    const versions = await h.call('GET', `/api/strategies/${created.body.strategy.id}/versions`, { token: owner.token });
    expect(versions.body.versions.map((v: { maxConcurrency: number | null }) => v.maxConcurrency)).toEqual([null, 3]);
    const [execution] = await h.database.sql<{ max_concurrency: number | null }[]>`select max_concurrency from executions where id = ${started.body.executionId}`;
    expect(execution!.max_concurrency).toBe(3);
    const [task] = await h.database.sql<{ concurrency_key: string; key_concurrency: number; key_per_minute: number }[]>`
      select concurrency_key, key_concurrency, key_per_minute from tasks where execution_id = ${started.body.executionId}`;
    expect(task).toEqual({ concurrency_key: 'ann@example.com', key_concurrency: 1, key_per_minute: 10 });
  });

  it('answers 400 naming the item field for a key without limits, limits without a key, a key the input cannot fill, bad values', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ items: [item({ concurrencyKey: '{{to}}' })] }, 'items[0].keyConcurrency', /needs keyConcurrency or keyPerMinute/],
      [{ items: [item({ keyConcurrency: 2 })] }, 'items[0].concurrencyKey', /is required with keyConcurrency or keyPerMinute/],
      [{ items: [item({ concurrencyKey: '{{recipient}}', keyConcurrency: 1 })] }, 'items[0].concurrencyKey', /\{\{recipient\}\} has no value in the item's input/],
      [{ items: [item({ concurrencyKey: '{{deps.research.host}}', keyConcurrency: 1 })] }, 'items[0].concurrencyKey', /dependencies/],
      [{ items: [item({ concurrencyKey: '{{to}}', keyConcurrency: 0 })] }, 'items[0].keyConcurrency', /at least 1/],
      [{ items: [item({ concurrencyKey: '{{to}}', keyPerMinute: 2.5 })] }, 'items[0].keyPerMinute', /positive integer/],
      [{ items: [item({ concurrencyKey: 'x'.repeat(201), keyConcurrency: 1 })] }, 'items[0].concurrencyKey', /at most 200 characters/],
      [{ maxConcurrency: 0, items: [item()] }, 'maxConcurrency', /at least 1/],
      [{ maxConcurrency: 10_001, items: [item()] }, 'maxConcurrency', /at most 10,000/],
    ];
    for (const [body, field, message] of cases) {
      const res = await create(body);
      expect(res.status, field).toBe(400);
      expect(res.body.field, JSON.stringify(body).slice(0, 200)).toBe(field);
      expect(res.body.error).toMatch(message);
    }
  });

  it('refuses a start whose key reads a parameter the execution was not given, naming the item', async () => {
    const created = await create({
      inputSchema: { type: 'object', properties: { customer: { type: 'string' } } },
      items: [item({ concurrencyKey: 'customer-{{input.customer}}', keyPerMinute: 5 })],
    });
    expect(created.status).toBe(201);
    const start = (input: Record<string, unknown>) => h.call('POST', '/api/executions/start', { token: owner.token, body: { strategyId: created.body.strategy.id, workspaceId: ws, input } });
    const refused = await start({});
    expect(refused).toMatchObject({ status: 400, body: { field: 'input' } });
    expect(refused.body.error).toBe(`Item "send": concurrencyKey: {{input.customer}} has no value in the execution's input`);
    const started = await start({ customer: 'acme' });
    expect(started.status).toBe(200);
    const [task] = await h.database.sql<{ concurrency_key: string }[]>`select concurrency_key from tasks where execution_id = ${started.body.executionId}`;
    expect(task!.concurrency_key).toBe('customer-acme');
  });
});
