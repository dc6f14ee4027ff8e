import { createEngineHarness, type EngineHarness, until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../../worker/test/processes.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * A schedule's ticks with the whole system running as in production: two web processes taking
 * the calls and two worker processes each running the ticker. Every tick starts exactly one
 * execution, which the workers run to its end, through a worker stopped, a worker killed and
 * their replacements: a one-off, the same one armed again, then a cron tick at a real minute.
 */
let h: EngineHarness;
const webs: RunningWeb[] = [];
const workers: WorkerProcess[] = [];
let token: string;
let workspaceId: string;
let strategyId: string;

const call = (web: RunningWeb, method: string, path: string, body?: unknown) => apiCall(web.url, path, { method, body, token });

const executionsOf = (scheduleId: string) =>
  h.database.sql<{ id: string; trigger: string; created_at: string }[]>`select id, trigger, created_at from executions where schedule_id = ${scheduleId} order by created_at`;
const runsOf = (scheduleId: string) =>
  h.database.sql<{ tick_at: string; status: string; execution_id: string | null }[]>`select tick_at, status, execution_id from schedule_runs where schedule_id = ${scheduleId} order by tick_at`;

/** Waits for the schedule's `n`th execution; then it has exactly n, and the latest has run to its end on a worker. */
async function nthExecution(scheduleId: string, n: number, timeoutMs = 15_000) {
  const rows = await until(`execution ${n} of ${scheduleId}`, async () => {
    const found = await executionsOf(scheduleId);
    return found.length >= n && found;
  }, timeoutMs);
  expect(rows).toHaveLength(n);
  const latest = rows.at(-1)!;
  expect(latest.trigger).toBe('schedule');
  await h.waitForStatus(latest.id, ['completed'], 30_000);
  return latest;
}

beforeAll(async () => {
  h = await createEngineHarness();
  webs.push(await startWeb({ DATABASE_URL: h.database.url }), await startWeb({ DATABASE_URL: h.database.url }));
  workers.push(await spawnWorker(h.database.url), await spawnWorker(h.database.url));
  const [a] = webs;
  token = (await call(a!, 'POST', '/api/auth/signup', { email: 'ticks@example.com', password: 'a ticking password' })).body.token;
  const ws = await call(a!, 'POST', '/api/workspaces', { name: 'Ticks' });
  if (!ws.body.workspace) throw new Error(JSON.stringify(ws));
  workspaceId = ws.body.workspace.id;
  const strategy = await call(a!, 'POST', '/api/strategies', { workspaceId, name: 'Tick', items: [{ key: 'a', description: 'Write', agentType: 'content', input: { prompt: 'A tick' } }] });
  if (!strategy.body.strategy) throw new Error(JSON.stringify(strategy));
  strategyId = strategy.body.strategy.id;
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await Promise.all(webs.map((w) => w.stop()));
  await h?.close();
});

describe('a schedule with two web and two worker processes', () => {
  it('starts exactly one execution per tick, across a worker stopped and one killed', { timeout: 180_000 }, async () => {
    const [webA, webB] = webs as [RunningWeb, RunningWeb];

    // Tick 1: a one-off created through web A, 1.5 s ahead.
    const first = new Date(Date.now() + 1500);
    const created = await call(webA, 'POST', '/api/schedules', { workspaceId, strategyId, runAt: first.toISOString() });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const scheduleId = created.body.schedule.id as string;
    const one = await nthExecution(scheduleId, 1);
    // Within 2 s of its time.
    const late = new Date(one.created_at).getTime() - first.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(2000);
    expect((await call(webB, 'GET', `/api/schedules/${scheduleId}`)).body.schedule).toMatchObject({ nextRunAt: null, enabled: false, lastExecutionId: one.id });

    // Tick 2: armed again through web B while one worker is stopped; its replacement starts before the tick.
    const stopped = workers.shift()!;
    expect(await stopped.stop()).toBe(0);
    const second = new Date(Date.now() + 1500);
    const armed = await call(webB, 'PATCH', `/api/schedules/${scheduleId}`, { runAt: second.toISOString(), enabled: true });
    expect(armed.body.schedule).toMatchObject({ nextRunAt: second.toISOString(), enabled: true });
    workers.push(await spawnWorker(h.database.url));
    const two = await nthExecution(scheduleId, 2);

    // Tick 3: a cron tick at the next real minute, after the other original worker is killed outright.
    await workers.shift()!.stop('SIGKILL');
    workers.push(await spawnWorker(h.database.url));
    const cron = await call(webA, 'PATCH', `/api/schedules/${scheduleId}`, { cron: '* * * * *', enabled: true });
    expect(cron.status, JSON.stringify(cron.body)).toBe(200);
    const minute = cron.body.schedule.nextRunAt as string;
    expect(new Date(minute).getTime()).toBeGreaterThan(Date.now());
    expect(new Date(minute).getUTCSeconds()).toBe(0);
    const three = await nthExecution(scheduleId, 3, 75_000);
    // Nothing more fires: off through web B, and the list says so.
    const off = await call(webB, 'PATCH', `/api/schedules/${scheduleId}`, { enabled: false });
    expect(off.body.schedule).toMatchObject({ enabled: false, nextRunAt: null, lastExecutionId: three.id });

    expect(await runsOf(scheduleId)).toEqual([
      { tick_at: expect.any(String), status: 'started', execution_id: one.id },
      { tick_at: expect.any(String), status: 'started', execution_id: two.id },
      { tick_at: expect.any(String), status: 'started', execution_id: three.id },
    ]);
    const ticks = (await runsOf(scheduleId)).map((r) => new Date(r.tick_at).toISOString());
    expect(ticks).toEqual([first.toISOString(), second.toISOString(), minute]);
    const runs = await call(webA, 'GET', `/api/schedules/${scheduleId}/runs`);
    expect(runs.body.runs.map((r: { executionId: string }) => r.executionId)).toEqual([three.id, two.id, one.id]);
    expect(await executionsOf(scheduleId)).toHaveLength(3);
  });
});
