import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { blockAt, clearHooks } from '../hooks.ts';
import { archiveStrategy, updateStrategy } from '../strategy/store.ts';
import { createEngineHarness, type EngineHarness, silentLogger, until } from '../testing.ts';
import { SCHEDULE_LIMITS } from './contract.ts';
import { createSchedule, listScheduleRuns, updateSchedule } from './store.ts';
import { runDueSchedules, startScheduleTicker } from './ticker.ts';

/**
 * The ticker against a real database with a controlled clock: each due tick starts one
 * execution, missed ticks are recorded and only the latest runs, DST boundaries in a non-UTC
 * zone, one-offs, refused starts, and two tickers racing for one tick. No worker runs tasks.
 */
let h: EngineHarness;

beforeAll(async () => {
  h = await createEngineHarness();
});
// Each test's schedules are its own: what an earlier test left due must not answer a later one's pass.
afterEach(async () => {
  clearHooks();
  await h.database.sql`update schedules set enabled = false, next_run_at = null`;
});
afterAll(async () => {
  await h?.close();
});

const at = (iso: string) => new Date(iso);
const items = [{ key: 'a', description: 'Write', agentType: 'content' }];
const params = { type: 'object', properties: { audience: { type: 'string' } }, required: ['audience'], additionalProperties: false };

async function setup(extra: Record<string, unknown> = {}) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, items, extra);
  return { ws, strategyId };
}

async function scheduled(scheduleId: string) {
  return h.database.sql<{ id: string; trigger: string; schedule_id: string; input: Record<string, unknown> }[]>`
    select id, trigger, schedule_id, input from executions where schedule_id = ${scheduleId} order by created_at`;
}

async function row(scheduleId: string) {
  const [r] = await h.database.sql<{ next_run_at: string | null; last_run_at: string | null; last_execution_id: string | null; enabled: boolean }[]>`
    select next_run_at, last_run_at, last_execution_id, enabled from schedules where id = ${scheduleId}`;
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return { ...r!, next_run_at: date(r!.next_run_at), last_run_at: date(r!.last_run_at) };
}

const runs = async (scheduleId: string) =>
  (await listScheduleRuns(h.database.db, scheduleId, 500)).map((r) => ({ tickAt: r.tickAt.toISOString(), status: r.status, executionId: r.executionId, error: r.error }));

describe('a cron schedule', () => {
  it('starts one execution per tick, with its input and trigger, and moves to the next tick', async () => {
    const { ws, strategyId } = await setup({ inputSchema: params });
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '*/5 * * * *', input: { audience: 'press' } }, at('2030-01-01T10:02:00Z'));
    expect(schedule.nextRunAt?.toISOString()).toBe('2030-01-01T10:05:00.000Z');
    // Not yet due.
    expect(await runDueSchedules(h.ctx, at('2030-01-01T10:04:59Z'))).toEqual([]);
    const [first] = await runDueSchedules(h.ctx, at('2030-01-01T10:05:00.400Z'));
    expect(first).toMatchObject({ scheduleId: schedule.id, status: 'started', tickAt: at('2030-01-01T10:05:00Z'), missed: 0 });
    // The same moment again (another pass, another process): nothing more.
    expect(await runDueSchedules(h.ctx, at('2030-01-01T10:05:00.900Z'))).toEqual([]);
    const started = await scheduled(schedule.id);
    expect(started).toEqual([{ id: (first as { executionId: string }).executionId, trigger: 'schedule', schedule_id: schedule.id, input: { audience: 'press' } }]);
    expect(await row(schedule.id)).toEqual({ next_run_at: at('2030-01-01T10:10:00Z'), last_run_at: at('2030-01-01T10:05:00Z'), last_execution_id: started[0]!.id, enabled: true });
    await runDueSchedules(h.ctx, at('2030-01-01T10:10:01Z'));
    expect(await scheduled(schedule.id)).toHaveLength(2);
    expect((await runs(schedule.id)).map((r) => [r.tickAt, r.status])).toEqual([
      ['2030-01-01T10:10:00.000Z', 'started'],
      ['2030-01-01T10:05:00.000Z', 'started'],
    ]);
  });

  it('after a pause in which nothing ran, runs the latest missed tick once and records the others as missed', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 * * * *' }, at('2030-01-01T00:30:00Z'));
    // Down from 00:30 to 04:20: ticks 01:00, 02:00, 03:00 and 04:00 fell.
    const [outcome] = await runDueSchedules(h.ctx, at('2030-01-01T04:20:00Z'));
    expect(outcome).toMatchObject({ status: 'started', tickAt: at('2030-01-01T04:00:00Z'), missed: 3 });
    expect(await scheduled(schedule.id)).toHaveLength(1);
    expect(await runs(schedule.id)).toEqual([
      { tickAt: '2030-01-01T04:00:00.000Z', status: 'started', executionId: (outcome as { executionId: string }).executionId, error: null },
      { tickAt: '2030-01-01T03:00:00.000Z', status: 'missed', executionId: null, error: null },
      { tickAt: '2030-01-01T02:00:00.000Z', status: 'missed', executionId: null, error: null },
      { tickAt: '2030-01-01T01:00:00.000Z', status: 'missed', executionId: null, error: null },
    ]);
    expect((await row(schedule.id)).next_run_at).toEqual(at('2030-01-01T05:00:00Z'));
  });

  it('records at most the latest 100 missed ticks, saying that earlier ones are left out', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '* * * * *' }, at('2030-01-01T00:00:30Z'));
    // Three days down: 4,320 ticks.
    const [outcome] = await runDueSchedules(h.ctx, at('2030-01-04T00:00:30Z'));
    expect(outcome).toMatchObject({ status: 'started', tickAt: at('2030-01-04T00:00:00Z'), missed: SCHEDULE_LIMITS.missedRecorded });
    const all = await runs(schedule.id);
    expect(all).toHaveLength(1 + SCHEDULE_LIMITS.missedRecorded);
    expect(all.at(-1)).toEqual({ tickAt: '2030-01-03T22:20:00.000Z', status: 'missed', executionId: null, error: expect.stringContaining('Earlier ticks since 2030-01-01T00:01:00.000Z were missed too') });
    expect(all.slice(1, -1).every((r) => r.status === 'missed' && r.error === null)).toBe(true);
  });

  it('keeps the latest 500 ticks of a schedule', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '* * * * *' }, at('2030-02-01T00:00:30Z'));
    await h.database.sql`
      insert into schedule_runs (schedule_id, tick_at, status)
      select ${schedule.id}, '2030-01-01T00:00:00Z'::timestamptz + make_interval(mins => g), 'missed' from generate_series(0, 599) g`;
    await runDueSchedules(h.ctx, at('2030-02-01T00:01:10Z'));
    const all = await runs(schedule.id);
    expect(all).toHaveLength(SCHEDULE_LIMITS.runsKept);
    expect(all[0]).toMatchObject({ tickAt: '2030-02-01T00:01:00.000Z', status: 'started' });
  });
});

describe('DST in a non-UTC timezone, with a controlled clock', () => {
  it('New York: 02:30 daily runs at 03:00 on the spring-forward day; 01:30 daily runs once on the fall-back day', async () => {
    const { ws, strategyId } = await setup();
    const spring = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '30 2 * * *', timezone: 'America/New_York' }, at('2025-03-08T12:00:00Z'));
    expect(spring.nextRunAt).toEqual(at('2025-03-09T07:00:00Z'));
    expect(await runDueSchedules(h.ctx, at('2025-03-09T06:59:59Z'))).toEqual([]);
    expect(await runDueSchedules(h.ctx, at('2025-03-09T07:00:00.500Z'))).toMatchObject([{ scheduleId: spring.id, status: 'started', missed: 0 }]);
    expect((await row(spring.id)).next_run_at).toEqual(at('2025-03-10T06:30:00Z'));

    const fall = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '30 1 * * *', timezone: 'America/New_York' }, at('2025-11-01T12:00:00Z'));
    expect(fall.nextRunAt).toEqual(at('2025-11-02T05:30:00Z'));
    const of = (outcomes: Awaited<ReturnType<typeof runDueSchedules>>) => outcomes.filter((o) => o.scheduleId === fall.id);
    expect(of(await runDueSchedules(h.ctx, at('2025-11-02T05:30:01Z')))).toMatchObject([{ status: 'started' }]);
    // The second 01:30 (EST) passes without a run.
    expect(of(await runDueSchedules(h.ctx, at('2025-11-02T06:30:01Z')))).toEqual([]);
    expect((await row(fall.id)).next_run_at).toEqual(at('2025-11-03T06:30:00Z'));
    expect(await scheduled(fall.id)).toHaveLength(1);
  });

  it('Berlin: an hourly job runs in both occurrences of the repeated hour and skips the hour that does not exist', async () => {
    const { ws, strategyId } = await setup();
    const fall = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '30 * * * *', timezone: 'Europe/Berlin' }, at('2025-10-26T00:00:00Z'));
    const seen: string[] = [];
    // Tick by tick through the fall-back night: 02:30 CEST (00:30Z), 02:30 CET (01:30Z), 03:30 CET (02:30Z).
    for (const now of ['2025-10-26T00:30:01Z', '2025-10-26T01:30:01Z', '2025-10-26T02:30:01Z']) {
      for (const outcome of await runDueSchedules(h.ctx, at(now))) if (outcome.status === 'started' && outcome.scheduleId === fall.id) seen.push(outcome.tickAt.toISOString());
    }
    expect(seen).toEqual(['2025-10-26T00:30:00.000Z', '2025-10-26T01:30:00.000Z', '2025-10-26T02:30:00.000Z']);

    const spring = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '30 * * * *', timezone: 'Europe/Berlin' }, at('2025-03-30T00:00:00Z'));
    // 01:30 CET (00:30Z), then 03:30 CEST (01:30Z): there is no 02:30.
    expect(spring.nextRunAt).toEqual(at('2025-03-30T00:30:00Z'));
    await runDueSchedules(h.ctx, at('2025-03-30T00:30:01Z'));
    expect((await row(spring.id)).next_run_at).toEqual(at('2025-03-30T01:30:00Z'));
  });
});

describe('a one-off schedule', () => {
  it('fires at its time, then has no nextRunAt and is disabled', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, runAt: '2030-03-01T09:00:00+01:00' }, at('2030-03-01T07:00:00Z'));
    expect(schedule).toMatchObject({ cron: null, runAt: at('2030-03-01T08:00:00Z'), nextRunAt: at('2030-03-01T08:00:00Z'), enabled: true });
    expect(await runDueSchedules(h.ctx, at('2030-03-01T08:00:00.200Z'))).toMatchObject([{ status: 'started', tickAt: at('2030-03-01T08:00:00Z') }]);
    expect(await row(schedule.id)).toMatchObject({ next_run_at: null, enabled: false, last_run_at: at('2030-03-01T08:00:00Z') });
    expect(await runDueSchedules(h.ctx, at('2030-03-02T00:00:00Z'))).toEqual([]);
    expect(await scheduled(schedule.id)).toHaveLength(1);
  });

  it('moves past a tick it already ran without starting it again (armed again with the same time)', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, runAt: '2030-04-01T08:00:00Z' }, at('2030-04-01T07:00:00Z'));
    await runDueSchedules(h.ctx, at('2030-04-01T08:00:01Z'));
    await h.database.sql`update schedules set enabled = true, next_run_at = '2030-04-01T08:00:00Z' where id = ${schedule.id}`;
    expect(await runDueSchedules(h.ctx, at('2030-04-01T08:00:02Z'))).toMatchObject([{ status: 'taken' }]);
    expect(await scheduled(schedule.id)).toHaveLength(1);
    expect(await row(schedule.id)).toMatchObject({ next_run_at: null, enabled: false });
  });
});

describe('a tick whose start is refused', () => {
  it('records failed with the reason when the strategy was archived, and moves on', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 12 * * *' }, at('2030-05-01T00:00:00Z'));
    await archiveStrategy(h.database.db, strategyId);
    expect(await runDueSchedules(h.ctx, at('2030-05-01T12:00:01Z'))).toMatchObject([{ status: 'failed', error: `Strategy ${strategyId} is archived` }]);
    expect(await runs(schedule.id)).toEqual([{ tickAt: '2030-05-01T12:00:00.000Z', status: 'failed', executionId: null, error: `Strategy ${strategyId} is archived` }]);
    expect(await row(schedule.id)).toMatchObject({ next_run_at: at('2030-05-02T12:00:00Z'), last_run_at: null, enabled: true });
    expect(await scheduled(schedule.id)).toHaveLength(0);
  });

  it("records failed when its input no longer fits the strategy's latest inputSchema", async () => {
    const { ws, strategyId } = await setup({ inputSchema: params });
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 12 * * *', input: { audience: 'press' } }, at('2030-05-01T00:00:00Z'));
    await updateStrategy(h.database.db, strategyId, {
      name: 'Test strategy',
      items,
      inputSchema: { type: 'object', properties: { region: { type: 'string' } }, required: ['region'], additionalProperties: false },
    });
    const [outcome] = await runDueSchedules(h.ctx, at('2030-05-01T12:00:01Z'));
    expect(outcome).toMatchObject({ status: 'failed', error: 'input.region: is required' });
    expect((await runs(schedule.id))[0]).toMatchObject({ status: 'failed', error: 'input.region: is required' });
    expect((await row(schedule.id)).next_run_at).toEqual(at('2030-05-02T12:00:00Z'));
  });
});

describe('two tickers at once', () => {
  it('start a tick once: the second finds the schedule held, and its start rolls back', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 6 * * *' }, at('2030-06-01T00:00:00Z'));
    const held = blockAt('schedules:tick-claimed', { match: (info) => info.scheduleId === schedule.id, times: 1 });
    const first = runDueSchedules(h.ctx, at('2030-06-01T06:00:00.100Z'));
    await held.reached;
    // The first holds the row (its run written, not committed): the second gives the tick up.
    const second = await runDueSchedules(h.ctx, at('2030-06-01T06:00:00.200Z'));
    expect(second.filter((o) => o.scheduleId === schedule.id)).toMatchObject([{ status: 'taken' }]);
    held.release();
    expect((await first).filter((o) => o.scheduleId === schedule.id)).toMatchObject([{ status: 'started' }]);
    expect(await scheduled(schedule.id)).toHaveLength(1);
    // The loser's execution row was rolled back with its start: no execution of this strategy but the one.
    const [count] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from executions where strategy_id = ${strategyId}`;
    expect(count?.n).toBe(1);
  });

  it('gives a tick up when the schedule was changed between reading it due and claiming it', async () => {
    const { ws, strategyId } = await setup();
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 7 * * *' }, at('2030-06-01T00:00:00Z'));
    const gate = blockAt('schedules:before-start', { match: (info) => info.scheduleId === schedule.id, times: 1 });
    const racing = runDueSchedules(h.ctx, at('2030-06-01T07:00:01Z'));
    await gate.reached;
    await updateSchedule(h.database.db, schedule.id, { enabled: false });
    gate.release();
    expect((await racing).filter((o) => o.scheduleId === schedule.id)).toMatchObject([{ status: 'taken' }]);
    expect(await scheduled(schedule.id)).toHaveLength(0);
    expect(await runs(schedule.id)).toEqual([]);
    expect(await row(schedule.id)).toMatchObject({ enabled: false, next_run_at: null });
  });
});

describe('the ticker loop', () => {
  it('fires a one-off within 2 s of its time and stops cleanly', async () => {
    const { ws, strategyId } = await setup();
    const runAt = new Date(Date.now() + 1500);
    const schedule = await createSchedule(h.database.db, { workspaceId: ws, strategyId, runAt });
    const ticker = startScheduleTicker({ ctx: h.ctx, logger: silentLogger });
    try {
      const execution = await until('the one-off to start', async () => (await scheduled(schedule.id))[0], 10_000);
      const [started] = await h.database.sql<{ created_at: string }[]>`select created_at from executions where id = ${execution.id}`;
      const late = new Date(started!.created_at).getTime() - runAt.getTime();
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(2000);
    } finally {
      await ticker.stop();
    }
  });
});

describe('the limit of 100 enabled schedules per workspace', () => {
  it('refuses the 101st (create or enable), and of two creates racing at the edge lets exactly one through', async () => {
    const { ws, strategyId } = await setup();
    await h.database.sql`
      insert into schedules (id, workspace_id, strategy_id, cron, timezone, enabled, next_run_at)
      select 'sched_fill' || g, ${ws}, ${strategyId}, '0 0 1 1 *', 'UTC', true, '2099-01-01T00:00:00Z' from generate_series(1, 99) g`;
    const disabled = await createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 0 * * *', enabled: false });
    // Two creates for the 100th place: the first is held after its count, holding the workspace's lock.
    const held = blockAt('schedules:limit-checked', { match: (info) => info.workspaceId === ws, times: 1 });
    const a = createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 1 * * *' }).then(
      () => 'created',
      (e: EngineError) => e.code,
    );
    await held.reached;
    const b = createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 2 * * *' }).then(
      () => 'created',
      (e: EngineError) => e.message,
    );
    // B waits for A's lock before it may count.
    await until('the second create to wait for the lock', async () => {
      const [w] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`;
      return (w?.n ?? 0) > 0;
    });
    held.release();
    expect(await a).toBe('created');
    expect(await b).toBe('This workspace already has 100 enabled schedules, the most it may have: disable or delete one first');
    const enable = await updateSchedule(h.database.db, disabled.id, { enabled: true }).catch((e: EngineError) => e);
    expect(enable).toBeInstanceOf(EngineError);
    expect((enable as EngineError).code).toBe('CONFLICT');
    const [count] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from schedules where workspace_id = ${ws} and enabled`;
    expect(count?.n).toBe(100);
    // Disabled ones do not count: one more may be created disabled.
    await expect(createSchedule(h.database.db, { workspaceId: ws, strategyId, cron: '0 3 * * *', enabled: false })).resolves.toMatchObject({ enabled: false, nextRunAt: null });
  });
});
