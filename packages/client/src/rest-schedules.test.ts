import { type ApiHarness, createApiHarness } from '@strata/api/testing';
import { handleRest } from '@strata/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataApiError, StrataRestClient } from './rest.ts';

/** The typed REST client's schedule calls against the real REST adapter (fetch goes straight to it). */
let h: ApiHarness;
let client: StrataRestClient;
let workspaceId: string;
let strategyId: string;

beforeAll(async () => {
  h = await createApiHarness();
  const { token } = await h.signup('owner@example.com');
  workspaceId = await h.createWorkspace(token);
  const strategy = await h.call('POST', '/api/strategies', { token, body: { workspaceId, name: 'Digest', items: [{ key: 'a', description: 'Write', agentType: 'content' }] } });
  strategyId = strategy.body.strategy.id;
  client = new StrataRestClient({ baseUrl: 'http://strata.test', token, maxRetries: 1, fetch: (url, init) => handleRest(new Request(url, init), h.deps) });
});
afterAll(async () => {
  await h?.close();
});

describe('StrataRestClient schedules', () => {
  it('creates, reads, lists, changes, lists the ticks of and deletes a schedule', async () => {
    const { schedule } = await client.createSchedule({ workspaceId, strategyId, cron: '0 8 * * 1-5', timezone: 'Europe/Paris' });
    expect(schedule).toMatchObject({ id: expect.stringMatching(/^sched_/), cron: '0 8 * * 1-5', timezone: 'Europe/Paris', enabled: true, nextRunAt: expect.any(String) });
    expect((await client.getSchedule(schedule.id)).schedule).toEqual(schedule);
    expect((await client.listSchedules(workspaceId, { strategyId })).schedules.map((s) => s.id)).toEqual([schedule.id]);
    const { schedule: paused } = await client.updateSchedule(schedule.id, { enabled: false });
    expect(paused).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await client.listScheduleRuns(schedule.id, { limit: 5 })).runs).toEqual([]);
    expect(await client.deleteSchedule(schedule.id)).toEqual({ success: true });
    expect((await client.listSchedules(workspaceId)).schedules).toEqual([]);
  });

  it('surfaces a refusal with its status and field', async () => {
    const error = await client.createSchedule({ workspaceId, strategyId, cron: '* * * * * *' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error).toMatchObject({ status: 400, body: { field: 'cron' } });
  });
});
