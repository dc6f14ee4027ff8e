import { finishedTask, insertHistory } from '@strata/engine/testing';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../context.ts';
import { createCaller } from '../root.ts';
import { createApiHarness, type ApiHarness } from '../testing.ts';

/**
 * Issue 15, analytics over REST and tRPC: the same answers on both, over a small history whose
 * numbers are worked out by hand; a range checked the same way (400 naming the field) before the
 * workspace (403); every member reads.
 */
let h: ApiHarness;
let owner: { token: string; email: string };
let viewer: { token: string; email: string };
let outsider: { token: string; email: string };
let ws: string;
let users = 0;

async function newUser() {
  users += 1;
  const email = `analytics-${users}@example.com`;
  return { email, ...(await h.signup(email)) };
}
/** `null`: without credentials. */
const get = (path: string, token: string | null = owner.token) => h.call('GET', path, token ? { token } : {});
const caller = async (token: string) => createCaller(await createContext(h.deps, new Headers({ authorization: `Bearer ${token}` })));

beforeAll(async () => {
  h = await createApiHarness();
  owner = await newUser();
  viewer = await newUser();
  outsider = await newUser();
  ws = await h.createWorkspace(owner.token, 'Measured');
  await h.addMember(owner.token, ws, viewer, 'viewer');
  await h.createWorkspace(outsider.token, 'Elsewhere');
  await insertHistory(h.database.db, ws, [
    {
      status: 'failed',
      completedAt: '2026-05-10T08:00:00.000Z',
      healthScore: 35,
      tasks: [
        finishedTask('email', 'completed', '2026-05-10T07:00:00.000Z', 200),
        finishedTask('email', 'failed', '2026-05-10T07:30:00.000Z', 600, 'SMTP 421 for usr_aa11 (try 1)'),
        finishedTask('research', 'failed', '2026-05-11T07:30:00.000Z', 1000, 'SMTP 450 for usr_bb22 (try 3)'),
      ],
    },
    { status: 'completed', completedAt: '2026-05-11T23:59:59.999Z', healthScore: 100 },
    { status: 'completed', completedAt: '2026-05-12T00:00:00.000Z', healthScore: 100 },
  ]);
});
afterAll(async () => {
  await h?.close();
});

const RANGE = { from: '2026-05-10', to: '2026-05-11' };
const query = (extra: Record<string, string> = {}) => `?${new URLSearchParams({ workspaceId: ws, ...RANGE, ...extra })}`;

describe('GET /api/analytics/...', () => {
  it('answers the hand-computed numbers, the same as the tRPC procedures', async () => {
    const trpc = await caller(owner.token);
    const input = { workspaceId: ws, ...RANGE };

    const executions = await get(`/api/analytics/executions${query()}`);
    expect(executions.status).toBe(200);
    expect(executions.body).toEqual({
      workspaceId: ws,
      range: { from: '2026-05-10', to: '2026-05-11', days: 2, timezone: 'UTC' },
      // 1 completed of 2 finished; health (35 + 100) / 2. The one at 2026-05-12T00:00Z is outside.
      totals: { completed: 1, failed: 1, cancelled: 0, finished: 2, successRate: 0.5, averageHealth: 67.5 },
      days: [
        { date: '2026-05-10', completed: 0, failed: 1, cancelled: 0, finished: 1, successRate: 0, averageHealth: 35 },
        { date: '2026-05-11', completed: 1, failed: 0, cancelled: 0, finished: 1, successRate: 1, averageHealth: 100 },
      ],
    });
    expect(executions.body).toEqual(await trpc.analytics.executions(input));

    const tasks = await get(`/api/analytics/tasks${query()}`);
    // email [200, 600]: mean 400, p95 200 + 0.95 × 400 = 580; research [1000].
    expect(tasks.body.agents).toEqual([
      { agentType: 'email', finished: 2, completed: 1, failed: 1, averageMs: 400, p95Ms: 580 },
      { agentType: 'research', finished: 1, completed: 0, failed: 1, averageMs: 1000, p95Ms: 1000 },
    ]);
    expect(tasks.body).toEqual(await trpc.analytics.tasks(input));

    const errors = await get(`/api/analytics/errors${query()}`);
    expect(errors.body).toMatchObject({ failedTasks: 2, patternCount: 1 });
    expect(errors.body.patterns).toEqual([
      { pattern: 'SMTP <n> for <id> (try <n>)', count: 2, example: 'SMTP 421 for usr_aa11 (try 1)', lastSeenAt: '2026-05-11T07:30:00.000Z', agentTypes: ['email', 'research'] },
    ]);
    expect(errors.body).toEqual(await trpc.analytics.errors(input));

    const queues = await get(`/api/analytics/queues?workspaceId=${ws}`);
    expect(queues.body.queues).toHaveLength(8);
    expect(queues.body.queues[0]).toEqual({
      agentType: 'email',
      ready: 0,
      delayed: 0,
      active: 0,
      oldestReadyAgeSeconds: 0,
      workspaceQueued: 0,
      workspaceThrottled: 0,
      workspaceRunning: 0,
      workspaceWaiting: 0,
    });
    const { asOf: _a, ...restQueues } = queues.body;
    const { asOf: _b, ...trpcQueues } = await trpc.analytics.queues({ workspaceId: ws });
    expect(restQueues).toEqual(trpcQueues);

    // The summary is the four parts.
    const summary = await get(`/api/analytics${query({ limit: '1' })}`);
    expect(summary.status).toBe(200);
    const strip = ({ workspaceId: _w, range: _r, ...rest }: Record<string, unknown>) => rest;
    expect(summary.body.range).toEqual(executions.body.range);
    expect(summary.body.executions).toEqual(strip(executions.body));
    expect(summary.body.tasks).toEqual(strip(tasks.body));
    expect(summary.body.errors).toEqual(strip(errors.body));
    const { asOf: _c, ...summaryQueues } = summary.body.queues;
    expect(summaryQueues).toEqual({ queues: queues.body.queues });
    const { queues: _q, ...trpcSummary } = await trpc.analytics.summary({ ...input, limit: 1 });
    const { queues: _s, ...restSummary } = summary.body;
    expect(restSummary).toEqual(trpcSummary);
  });

  it('answers an empty range with zeros, and defaults to the last 30 days', async () => {
    const empty = await get(`/api/analytics${query({ from: '2020-01-01', to: '2020-01-03' })}`);
    expect(empty.status).toBe(200);
    expect(empty.body.executions.days.map((d: { finished: number }) => d.finished)).toEqual([0, 0, 0]);
    expect(empty.body.executions.totals).toEqual({ completed: 0, failed: 0, cancelled: 0, finished: 0, successRate: null, averageHealth: null });
    expect(empty.body.tasks.agents).toEqual([]);
    expect(empty.body.errors).toEqual({ failedTasks: 0, patternCount: 0, patterns: [] });
    const defaults = await get(`/api/analytics/executions?workspaceId=${ws}`);
    expect(defaults.body.range).toMatchObject({ to: new Date().toISOString().slice(0, 10), days: 30 });
  });

  it('lets a viewer read; 401 without credentials, 403 outside the workspace or for an unknown one', async () => {
    for (const part of ['', '/executions', '/tasks', '/errors', '/queues']) {
      expect((await get(`/api/analytics${part}${query()}`, viewer.token)).status, part).toBe(200);
      expect((await get(`/api/analytics${part}${query()}`, null)).status, part).toBe(401);
      expect(await get(`/api/analytics${part}${query()}`, outsider.token), part).toMatchObject({ status: 403, body: { error: 'Access denied' } });
      expect((await get(`/api/analytics${part}?workspaceId=ws_nope`, outsider.token)).status, part).toBe(403);
    }
    const refused = await (await caller(outsider.token)).analytics.executions({ workspaceId: ws, ...RANGE }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCError);
    expect(refused).toMatchObject({ code: 'FORBIDDEN', message: 'Access denied' });
  });

  it('answers 400 naming the field for a bad range or limit, before looking at the workspace, on REST and tRPC alike', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ from: '2026-05-12', to: '2026-05-11' }, 'from', 'from: must not be after to'],
      [{ from: '2025-01-01', to: '2026-01-02' }, 'from', 'from: the range must be at most 366 days (it is 367)'],
      [{ from: '10/05/2026' }, 'from', 'from: must be a date as YYYY-MM-DD'],
      [{ to: '2026-02-30' }, 'to', 'to: is not a calendar date'],
      [{ to: '' }, 'to', 'to: must be a date as YYYY-MM-DD'],
    ];
    const trpc = await caller(outsider.token);
    for (const [range, field, message] of cases) {
      for (const part of ['', '/executions', '/tasks', '/errors']) {
        const res = await get(`/api/analytics${part}${query(range)}`, outsider.token);
        expect(res.status, `${part} ${JSON.stringify(range)}`).toBe(400);
        expect(res.body).toEqual({ error: message, field });
      }
      const refused = await trpc.analytics.executions({ workspaceId: ws, ...RANGE, ...range }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'BAD_REQUEST' });
    }
    for (const [limit, message] of [
      ['0', 'limit: must be at least 1'],
      ['51', 'limit: must be at most 50'],
      ['2.5', 'limit: must be a whole number'],
      ['ten', 'limit: must be a whole number'],
    ]) {
      const res = await get(`/api/analytics/errors${query({ limit: limit! })}`);
      expect(res.body, limit).toEqual({ error: message, field: 'limit' });
    }
    expect(await get('/api/analytics/queues')).toMatchObject({ status: 400, body: { error: 'Missing fields: workspaceId' } });
    expect(await get(`/api/analytics?from=2026-05-10`)).toMatchObject({ status: 400, body: { error: 'Missing fields: workspaceId' } });
  });
});
