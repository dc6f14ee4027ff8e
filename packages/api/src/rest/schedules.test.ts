import { runDueSchedules } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness, type CallResult } from '../testing.ts';

/**
 * Schedules over REST (issue 13): the answers' shape, every refusal with its field, the role
 * matrix, archived strategies, the limit, the runs list, and scheduled starts not counted by the
 * start rate limit. The ticker is driven here by hand (runDueSchedules); no worker runs tasks.
 */

type Caller = 'owner' | 'admin' | 'operator' | 'viewer' | 'outsider';
const RANK: Record<Caller, number> = { outsider: 0, viewer: 1, operator: 2, admin: 3, owner: 4 };

let h: ApiHarness;
const tokens = {} as Record<Caller, string>;
let workspaceId: string;
let strategyId: string;
let plainStrategyId: string;

const inputSchema = { type: 'object', properties: { audience: { type: 'string', minLength: 2 } }, required: ['audience'], additionalProperties: false };
const items = [{ key: 'a', description: 'Write', agentType: 'content' }];
const as = (caller: Caller) => tokens[caller];
const post = (body: unknown, caller: Caller = 'operator') => h.call('POST', '/api/schedules', { token: as(caller), body });
const patch = (id: string, body: unknown, caller: Caller = 'operator') => h.call('PATCH', `/api/schedules/${id}`, { token: as(caller), body });
const get = (path: string, caller: Caller = 'viewer') => h.call('GET', path, { token: as(caller) });
const soon = (ms = 3_600_000) => new Date(Date.now() + ms).toISOString();

async function created(body: Record<string, unknown>): Promise<Record<string, unknown> & { id: string }> {
  const res = await post({ workspaceId, strategyId, input: { audience: 'press' }, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.schedule;
}

async function newStrategy(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.call('POST', '/api/strategies', { token: as('owner'), body: { workspaceId, name: 'Newsletter', items, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.strategy.id;
}

beforeAll(async () => {
  h = await createApiHarness({ rateLimits: { start: 1 } });
  const owner = await h.signup('owner@example.com');
  tokens.owner = owner.token;
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    const email = `${role}@example.com`;
    tokens[role] = (await h.signup(email)).token;
    await h.addMember(owner.token, workspaceId, { token: tokens[role], email }, role);
  }
  tokens.outsider = (await h.signup('outsider@example.com')).token;
  strategyId = await newStrategy({ inputSchema });
  plainStrategyId = await newStrategy();
});
afterAll(async () => {
  await h?.close();
});

describe('POST /api/schedules', () => {
  it('answers 201 with the schedule: a sched_ id, its next run, and every field', async () => {
    const before = Date.now();
    const res = await post({ workspaceId, strategyId, cron: '0 9 * * MON', timezone: 'Europe/Berlin', input: { audience: 'press' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { schedule } = res.body;
    expect(schedule).toEqual({
      id: expect.stringMatching(/^sched_[a-z0-9]{16}$/),
      workspaceId,
      strategyId,
      strategyName: 'Newsletter',
      cron: '0 9 * * MON',
      runAt: null,
      timezone: 'Europe/Berlin',
      input: { audience: 'press' },
      enabled: true,
      nextRunAt: expect.any(String),
      lastRunAt: null,
      lastExecutionId: null,
      createdBy: expect.stringMatching(/^usr_/),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    // Monday 09:00 in Berlin, within the next week.
    const next = new Date(schedule.nextRunAt);
    expect(next.getTime()).toBeGreaterThan(before);
    expect(next.getTime() - before).toBeLessThanOrEqual(7 * 24 * 3_600_000);
    expect(next.getUTCDay()).toBe(1);
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('09:00');
    expect((await get(`/api/schedules/${schedule.id}`)).body).toEqual({ schedule });
  });

  it('takes a one-off runAt with an offset, UTC by default; a disabled schedule has no nextRunAt', async () => {
    const runAt = new Date(Date.now() + 86_400_000);
    runAt.setUTCMilliseconds(0);
    // The same instant written at +02:00.
    const offset = `${new Date(runAt.getTime() + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`;
    const oneOff = await created({ runAt: offset });
    expect(oneOff).toMatchObject({ cron: null, timezone: 'UTC', runAt: runAt.toISOString(), nextRunAt: runAt.toISOString(), enabled: true });
    const disabled = await created({ cron: '*/10 * * * *', enabled: false });
    expect(disabled).toMatchObject({ enabled: false, nextRunAt: null });
  });

  const refusals: [string, Record<string, unknown>, string, RegExp][] = [
    ['six fields', { cron: '0 0 9 * * MON' }, 'cron', /^cron: .*5 parts/],
    ['a value out of range', { cron: '0 25 * * *' }, 'cron', /^cron: Invalid value for hour: 25$/],
    ['@reboot', { cron: '@reboot' }, 'cron', /^cron: @reboot is not supported/],
    ['a croner extension', { cron: '0 0 L * *' }, 'cron', /^cron: `L`\/`W` in day-of-month is not standard/],
    ['a date that never comes', { cron: '0 0 31 2 *' }, 'cron', /^cron: matches no date/],
    ['a cron that is not a string', { cron: 5 }, 'cron', /^cron: /],
    ['both cron and runAt', { cron: '0 9 * * *', runAt: soon() }, 'cron', /^cron: give exactly one of cron .* and runAt/],
    ['neither cron nor runAt', {}, 'cron', /^cron: give exactly one of cron .* and runAt/],
    ['runAt without an offset', { runAt: '2030-01-01T09:00:00' }, 'runAt', /^runAt: must be an ISO 8601 date-time with an offset/],
    ['runAt that is no date', { runAt: 'next tuesday' }, 'runAt', /^runAt: must be an ISO 8601 date-time with an offset/],
    ['runAt in the past', { runAt: '2020-01-01T00:00:00Z' }, 'runAt', /^runAt: 2020-01-01T00:00:00.000Z is in the past/],
    ['an unknown timezone', { cron: '0 9 * * *', timezone: 'Europe/Atlantis' }, 'timezone', /^timezone: "Europe\/Atlantis" is not a known IANA time zone/],
    ['an offset for a timezone', { cron: '0 9 * * *', timezone: '+02:00' }, 'timezone', /^timezone: "\+02:00" is not an IANA time zone name/],
    ['input missing a required field', { cron: '0 9 * * *', input: {} }, 'input.audience', /^input.audience: is required$/],
    ['input of the wrong type', { cron: '0 9 * * *', input: { audience: 'x' } }, 'input.audience', /^input.audience: must NOT have fewer than 2 characters$/],
    ['input that is not an object', { cron: '0 9 * * *', input: ['press'] }, 'input', /^input: must be an object/],
    ['enabled that is not a boolean', { cron: '0 9 * * *', enabled: 'yes' }, 'enabled', /^enabled: /],
  ];

  it.each(refusals)('refuses %s: 400 naming the field, nothing written', async (_, body, field, message) => {
    const [before] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from schedules`;
    const res = await post({ workspaceId, strategyId, input: { audience: 'press' }, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error).toMatch(message);
    const [after] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from schedules`;
    expect(after?.n).toBe(before?.n);
  });

  it('refuses input for a strategy that declares no inputSchema', async () => {
    const res = await post({ workspaceId, strategyId: plainStrategyId, cron: '0 9 * * *', input: { audience: 'press' } });
    expect(res).toMatchObject({ status: 400, body: { field: 'input', error: expect.stringContaining('declares no inputSchema') } });
    expect((await post({ workspaceId, strategyId: plainStrategyId, cron: '0 9 * * *' })).status).toBe(201);
  });

  it('refuses an archived strategy (409) and one of another workspace (404)', async () => {
    const archived = await newStrategy();
    expect((await h.call('DELETE', `/api/strategies/${archived}`, { token: as('owner') })).status).toBe(200);
    const res = await post({ workspaceId, strategyId: archived, cron: '0 9 * * *' });
    expect(res).toMatchObject({ status: 409, body: { error: `Strategy ${archived} is archived: it cannot be scheduled` } });
    const otherWorkspace = await h.createWorkspace(as('owner'), 'Other');
    const foreign = await h.call('POST', '/api/strategies', { token: as('owner'), body: { workspaceId: otherWorkspace, name: 'Theirs', items } });
    expect((await post({ workspaceId, strategyId: foreign.body.strategy.id, cron: '0 9 * * *' })).status).toBe(404);
  });
});

describe('PATCH, GET and DELETE /api/schedules/:id', () => {
  it('changes timing, input and enabled; nextRunAt follows (none while disabled)', async () => {
    const schedule = await created({ cron: '0 9 * * *' });
    const off = await patch(schedule.id, { enabled: false });
    expect(off.body.schedule).toMatchObject({ enabled: false, nextRunAt: null });
    const on = await patch(schedule.id, { enabled: true, timezone: 'America/New_York' });
    expect(on.body.schedule).toMatchObject({ enabled: true, timezone: 'America/New_York' });
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' }).format(new Date(on.body.schedule.nextRunAt))).toBe('09:00');
    const runAt = soon(120_000);
    const oneOff = await patch(schedule.id, { runAt });
    expect(oneOff.body.schedule).toMatchObject({ cron: null, runAt, nextRunAt: runAt });
    const back = await patch(schedule.id, { cron: '30 * * * *', input: { audience: 'customers' } });
    expect(back.body.schedule).toMatchObject({ cron: '30 * * * *', runAt: null, input: { audience: 'customers' } });
    expect(new Date(back.body.schedule.nextRunAt).getUTCMinutes()).toBe(30);
    expect((await get(`/api/schedules/${schedule.id}`)).body.schedule).toEqual(back.body.schedule);
  });

  it('refuses a bad change with its field and changes nothing', async () => {
    const schedule = await created({ cron: '0 9 * * *' });
    for (const [body, field] of [
      [{ cron: 'every day' }, 'cron'],
      [{ cron: '0 9 * * *', runAt: soon() }, 'cron'],
      [{ timezone: 'Nowhere/Special' }, 'timezone'],
      [{ input: { audience: 7 } }, 'input.audience'],
      [{ runAt: '2001-01-01T00:00:00Z' }, 'runAt'],
    ] as const) {
      const res = await patch(schedule.id, body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.field).toBe(field);
    }
    expect((await get(`/api/schedules/${schedule.id}`)).body.schedule).toEqual(schedule);
  });

  it('lists a workspace’s schedules and one strategy’s; deletes one (404 after)', async () => {
    const schedule = await created({ cron: '15 3 * * *' });
    const all = await get(`/api/schedules?workspaceId=${workspaceId}`);
    expect(all.status).toBe(200);
    expect(all.body.schedules.map((s: { id: string }) => s.id)).toContain(schedule.id);
    const mine = await get(`/api/schedules?workspaceId=${workspaceId}&strategyId=${plainStrategyId}`);
    expect(mine.body.schedules.every((s: { strategyId: string }) => s.strategyId === plainStrategyId)).toBe(true);
    expect(mine.body.schedules.map((s: { id: string }) => s.id)).not.toContain(schedule.id);
    expect(await h.call('DELETE', `/api/schedules/${schedule.id}`, { token: as('operator') })).toMatchObject({ status: 200, body: { success: true } });
    expect(await get(`/api/schedules/${schedule.id}`)).toMatchObject({ status: 404, body: { error: 'Schedule not found' } });
    expect((await h.call('DELETE', `/api/schedules/${schedule.id}`, { token: as('operator') })).status).toBe(404);
  });
});

describe('who may do what', () => {
  const write = async (caller: Caller): Promise<CallResult[]> => {
    const schedule = await created({ cron: '0 4 * * *' });
    return [
      await post({ workspaceId, strategyId, cron: '0 4 * * *', input: { audience: 'press' } }, caller),
      await patch(schedule.id, { enabled: false }, caller),
      await h.call('DELETE', `/api/schedules/${schedule.id}`, { token: as(caller) }),
    ];
  };
  const read = async (caller: Caller): Promise<CallResult[]> => {
    const schedule = await created({ cron: '0 4 * * *' });
    return [await get(`/api/schedules?workspaceId=${workspaceId}`, caller), await get(`/api/schedules/${schedule.id}`, caller), await get(`/api/schedules/${schedule.id}/runs`, caller)];
  };

  it.each(['owner', 'admin', 'operator', 'viewer', 'outsider'] as Caller[])('%s', async (caller) => {
    for (const res of await write(caller)) {
      if (RANK[caller] >= RANK.operator) expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
      else expect(res).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    }
    for (const res of await read(caller)) {
      if (RANK[caller] >= RANK.viewer) expect(res.status, JSON.stringify(res.body)).toBe(200);
      else expect(res).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    }
  });

  it('refuses every schedule path without credentials', async () => {
    for (const [method, path] of [
      ['POST', '/api/schedules'],
      ['GET', `/api/schedules?workspaceId=${workspaceId}`],
      ['GET', '/api/schedules/sched_x'],
      ['PATCH', '/api/schedules/sched_x'],
      ['DELETE', '/api/schedules/sched_x'],
      ['GET', '/api/schedules/sched_x/runs'],
    ] as const) {
      expect((await h.call(method, path, { body: method === 'POST' || method === 'PATCH' ? {} : undefined })).status, `${method} ${path}`).toBe(401);
    }
  });
});

describe('ticks over REST', () => {
  it('starts despite a spent start rate limit, and lists its ticks: started, missed, failed', async () => {
    const schedule = await created({ cron: '*/5 * * * *' });
    // The workspace's one start a minute goes to a call; the next call is refused.
    expect((await h.call('POST', '/api/executions/start', { token: as('operator'), body: { workspaceId, strategyId, input: { audience: 'press' } } })).status).toBe(200);
    expect((await h.call('POST', '/api/executions/start', { token: as('operator'), body: { workspaceId, strategyId, input: { audience: 'press' } } })).status).toBe(429);
    // Three ticks ago, as if nothing had run since.
    const now = new Date();
    const latest = new Date(Math.floor(now.getTime() / 300_000) * 300_000);
    const due = new Date(latest.getTime() - 2 * 300_000);
    await h.database.sql`update schedules set next_run_at = ${due.toISOString()} where id = ${schedule.id}`;
    const outcomes = (await runDueSchedules(h.ctx, now)).filter((o) => o.scheduleId === schedule.id);
    expect(outcomes).toMatchObject([{ status: 'started', tickAt: latest, missed: 2 }]);
    const executionId = (outcomes[0] as { executionId: string }).executionId;
    const execution = await get(`/api/executions/${executionId}`);
    expect(execution.body.execution).toMatchObject({ trigger: 'schedule', scheduleId: schedule.id, input: { audience: 'press' } });

    // The strategy's inputSchema changes under it: the next tick fails, saying why.
    const edited = await h.call('PUT', `/api/strategies/${strategyId}`, {
      token: as('owner'),
      body: { name: 'Newsletter', items, inputSchema: { type: 'object', properties: { region: { type: 'string' } }, required: ['region'] } },
    });
    expect(edited.status).toBe(200);
    await h.database.sql`update schedules set next_run_at = ${latest.toISOString()}::timestamptz + interval '5 minutes' where id = ${schedule.id}`;
    await runDueSchedules(h.ctx, new Date(latest.getTime() + 300_000 + 500));
    const runs = await get(`/api/schedules/${schedule.id}/runs?limit=10`);
    expect(runs.status).toBe(200);
    expect(runs.body.runs).toEqual([
      { tickAt: new Date(latest.getTime() + 300_000).toISOString(), status: 'failed', executionId: null, error: 'input.region: is required', createdAt: expect.any(String) },
      { tickAt: latest.toISOString(), status: 'started', executionId, error: null, createdAt: expect.any(String) },
      { tickAt: new Date(latest.getTime() - 300_000).toISOString(), status: 'missed', executionId: null, error: null, createdAt: expect.any(String) },
      { tickAt: due.toISOString(), status: 'missed', executionId: null, error: null, createdAt: expect.any(String) },
    ]);
    const after = (await get(`/api/schedules/${schedule.id}`)).body.schedule;
    expect(after).toMatchObject({ lastRunAt: latest.toISOString(), lastExecutionId: executionId });
    expect((await get(`/api/schedules/${schedule.id}/runs?limit=0`)).body.field).toBe('limit');
  });
});

describe('the limit of 100 enabled schedules', () => {
  it('refuses the 101st with 409, lets one of two concurrent creates at the edge through, and counts an enable', async () => {
    const ws = await h.createWorkspace(as('owner'), 'Full');
    const strategy = await h.call('POST', '/api/strategies', { token: as('owner'), body: { workspaceId: ws, name: 'Many', items } });
    const sid = strategy.body.strategy.id;
    await h.database.sql`
      insert into schedules (id, workspace_id, strategy_id, cron, timezone, enabled, next_run_at)
      select 'sched_full' || g, ${ws}, ${sid}, '0 0 1 1 *', 'UTC', true, '2099-01-01T00:00:00Z' from generate_series(1, 99) g`;
    const parked = await h.call('POST', '/api/schedules', { token: as('owner'), body: { workspaceId: ws, strategyId: sid, cron: '0 0 * * *', enabled: false } });
    expect(parked.status).toBe(201);
    const both = await Promise.all([1, 2].map((n) => h.call('POST', '/api/schedules', { token: as('owner'), body: { workspaceId: ws, strategyId: sid, cron: `${n} 0 * * *` } })));
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(both.find((r) => r.status === 409)?.body.error).toBe('This workspace already has 100 enabled schedules, the most it may have: disable or delete one first');
    expect((await h.call('PATCH', `/api/schedules/${parked.body.schedule.id}`, { token: as('owner'), body: { enabled: true } })).status).toBe(409);
    const [count] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from schedules where workspace_id = ${ws} and enabled`;
    expect(count?.n).toBe(100);
  });
});
