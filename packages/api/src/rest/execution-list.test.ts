import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/** The executions list's filters and search, server-side (no worker: started executions stay running). */
let h: ApiHarness;
let token: string;
let workspaceId: string;
const ids: Record<string, string> = {};

const list = async (query: string) => h.call('GET', `/api/executions?workspaceId=${workspaceId}&${query}`, { token });
const idsOf = (body: { executions: { id: string }[] }) => body.executions.map((e) => e.id);

beforeAll(async () => {
  h = await createApiHarness();
  token = (await h.signup('lister@example.com')).token;
  workspaceId = await h.createWorkspace(token, 'Lists');
  const strategy = async (name: string) =>
    (await h.call('POST', '/api/strategies', { token, body: { workspaceId, name, items: [{ key: 'a', description: 'A', agentType: 'content' }] } })).body.strategy.id as string;
  const alpha = await strategy('Alpha Launch');
  const beta = await strategy('Beta 100%_done');
  for (const [key, strategyId] of [['alpha1', alpha], ['alpha2', alpha], ['beta', beta]] as const) {
    ids[key] = (await h.call('POST', '/api/executions/start', { token, body: { strategyId, workspaceId } })).body.executionId;
  }
  await h.database.db.execute(sql`update executions set status = 'failed' where id = ${ids.alpha2}`);
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/executions filters and search', () => {
  it('names each execution’s strategy', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    expect(res.body.executions.map((e: { strategyName: string }) => e.strategyName)).toEqual(['Beta 100%_done', 'Alpha Launch', 'Alpha Launch']);
  });

  it('filters by one status or several', async () => {
    expect(idsOf((await list('status=failed')).body)).toEqual([ids.alpha2]);
    expect(idsOf((await list('status=running')).body)).toEqual([ids.beta, ids.alpha1]);
    expect(idsOf((await list('status=running,failed')).body)).toEqual([ids.beta, ids.alpha2, ids.alpha1]);
    expect(idsOf((await list('status=completed')).body)).toEqual([]);
  });

  it('searches strategy names and execution ids, case-insensitively, wildcards taken literally', async () => {
    expect(idsOf((await list('q=alpha')).body)).toEqual([ids.alpha2, ids.alpha1]);
    expect(idsOf((await list(`q=${encodeURIComponent(ids.alpha1!.slice(-8).toUpperCase())}`)).body)).toEqual([ids.alpha1]);
    expect(idsOf((await list(`q=${encodeURIComponent('100%_')}`)).body)).toEqual([ids.beta]);
    expect(idsOf((await list(`q=${encodeURIComponent('%')}`)).body)).toEqual([ids.beta]);
    // An underscore matches an underscore (every execution id has one), as a wildcard it would match "Alpha Launch".
    expect(idsOf((await list(`q=${encodeURIComponent('a_L')}`)).body)).toEqual([]);
    expect(idsOf((await list('q=alpha&status=running')).body)).toEqual([ids.alpha1]);
  });

  it('pages a search with its cursor', async () => {
    const first = await list('q=alpha&limit=1');
    expect(idsOf(first.body)).toEqual([ids.alpha2]);
    const second = await list(`q=alpha&limit=1&cursor=${first.body.nextCursor}`);
    expect(idsOf(second.body)).toEqual([ids.alpha1]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('says how each execution was started: api, or the schedule or execution behind it', async () => {
    expect((await list('')).body.executions.map((e: { trigger: string; scheduleId: unknown; retryOf: unknown }) => [e.trigger, e.scheduleId, e.retryOf])).toEqual([
      ['api', null, null],
      ['api', null, null],
      ['api', null, null],
    ]);
    // Schedules and re-runs write these columns when they start one; here they are set by hand.
    await h.database.db.execute(sql`update executions set trigger = 'schedule', schedule_id = 'sched_1' where id = ${ids.beta}`);
    await h.database.db.execute(sql`update executions set trigger = 'retry', retry_of = ${ids.alpha1} where id = ${ids.alpha2}`);
    try {
      const rows = new Map((await list('')).body.executions.map((e: { id: string }) => [e.id, e]));
      expect(rows.get(ids.beta)).toMatchObject({ trigger: 'schedule', scheduleId: 'sched_1', retryOf: null });
      expect(rows.get(ids.alpha2)).toMatchObject({ trigger: 'retry', scheduleId: null, retryOf: ids.alpha1 });
      expect(rows.get(ids.alpha1)).toMatchObject({ trigger: 'api', scheduleId: null, retryOf: null });
    } finally {
      await h.database.db.execute(sql`update executions set trigger = 'api', schedule_id = null, retry_of = null`);
    }
  });

  it('refuses a bad status, an empty status list or a search over 200 characters, naming the field', async () => {
    expect(await list('status=running,exploded')).toMatchObject({ status: 400, body: { error: expect.stringContaining('status') } });
    expect(await list(`q=${'x'.repeat(201)}`)).toMatchObject({ status: 400, body: { error: expect.stringContaining('q') } });
  });
});
