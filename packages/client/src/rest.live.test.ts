import { approvalAgent, coordinationAgent } from '@strata/agents';
import { agentConfig } from '@strata/agents/testing';
import { handleRest } from '@strata/api';
import { type ApiHarness, createApiHarness } from '@strata/api/testing';
import { insertHistory, until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataApiError, StrataRestClient } from './rest.ts';

/** The REST client against the real REST adapter and database: every call it offers, as an integrator makes it. */
let h: ApiHarness;
let client: StrataRestClient;
let workspaceId: string;

beforeAll(async () => {
  h = await createApiHarness();
  const { token } = await h.signup('client@example.com');
  workspaceId = await h.createWorkspace(token);
  client = new StrataRestClient({
    baseUrl: 'http://strata.test',
    token,
    backoffMs: 1,
    fetch: (input, init) => handleRest(new Request(input, init), h.deps, { clientAddress: null }),
  });
});
afterAll(async () => {
  await h?.close();
});

const inputSchema = { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] };
const items = [{ key: 'write', description: 'Write', agentType: 'content' }];

describe('StrataRestClient against the API', () => {
  it('creates, edits, reads, lists and archives strategies, and starts one with an input', async () => {
    const { strategy } = await client.createStrategy({ workspaceId, name: 'Post', inputSchema, items });
    expect(strategy).toMatchObject({ name: 'Post', version: 1, inputSchema, items: [{ key: 'write' }] });
    expect(typeof strategy.createdAt).toBe('string');

    const edited = await client.updateStrategy(strategy.id, { name: 'Post v2', inputSchema, items, baseVersion: 1 });
    expect(edited.strategy.version).toBe(2);
    expect((await client.getStrategy(strategy.id, { version: 1 })).strategy.name).toBe('Post');
    expect((await client.listStrategyVersions(strategy.id)).versions.map((v) => v.version)).toEqual([2, 1]);
    expect((await client.listStrategies(workspaceId)).strategies.map((s) => [s.id, s.name, s.itemCount])).toEqual([[strategy.id, 'Post v2', 1]]);

    const refused = await client.startExecution({ strategyId: strategy.id, workspaceId, input: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StrataApiError);
    expect(refused).toMatchObject({ status: 400, message: 'input.topic: is required', body: { field: 'input.topic' } });
    const started = await client.startExecution({ strategyId: strategy.id, workspaceId, input: { topic: 'launch' } });
    expect((await client.getStatus(started.executionId)).execution).toMatchObject({ strategyVersion: 2, input: { topic: 'launch' }, trigger: 'api' });

    const stale = await client.updateStrategy(strategy.id, { name: 'Late', items, baseVersion: 1 }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 409 });
    expect((await client.archiveStrategy(strategy.id)).strategy.id).toBe(strategy.id);
    expect((await client.listStrategies(workspaceId)).strategies).toEqual([]);
  });

  it("reads and replaces the workspace's limits; a refusal names its field", async () => {
    expect(await client.getWorkspaceLimits(workspaceId)).toEqual({ workspaceId, agents: {}, windowSeconds: 60 });
    const set = await client.setWorkspaceLimits(workspaceId, { email: { concurrency: 2, perMinute: 30 } });
    expect(set.agents).toEqual({ email: { concurrency: 2, perMinute: 30 } });
    expect((await client.getWorkspaceLimits(workspaceId)).agents).toEqual(set.agents);
    const refused = await client.setWorkspaceLimits(workspaceId, { email: { concurrency: -1 } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StrataApiError);
    expect(refused).toMatchObject({ status: 400, body: { field: 'agents.email.concurrency' } });
    expect((await client.setWorkspaceLimits(workspaceId, {})).agents).toEqual({});
  });

  it('does not retry a strategy creation after a 5xx (a lost answer may mean it was created)', async () => {
    let calls = 0;
    const flaky = new StrataRestClient({
      baseUrl: 'http://strata.test',
      backoffMs: 1,
      fetch: async () => {
        calls++;
        return new Response(JSON.stringify({ error: 'Internal server error' }), { status: 503 });
      },
    });
    await expect(flaky.createStrategy({ workspaceId, name: 'Once', items })).rejects.toMatchObject({ status: 503 });
    expect(calls).toBe(1);
    await expect(flaky.listStrategies(workspaceId)).rejects.toMatchObject({ status: 503 });
    expect(calls).toBe(4);
  });
});

describe('StrataRestClient: approvals and signals', () => {
  it('lists and answers approvals, refuses a second answer, and sends signals', async () => {
    const deps = { config: agentConfig(), db: h.database.db };
    h.registry.register('approval', approvalAgent(deps));
    h.registry.register('coordination', coordinationAgent(deps));
    await h.startWorker();
    const { strategy } = await client.createStrategy({
      workspaceId,
      name: 'Gated',
      items: [
        { key: 'ok', description: 'Sign off', agentType: 'approval', input: { prompt: 'Ok?' } },
        { key: 'no', description: 'Sign off too', agentType: 'approval', input: { prompt: 'No?' } },
        { key: 'wait', description: 'Wait', agentType: 'coordination', input: { waitForSignal: 'go' } },
      ],
      onTaskFailure: 'continue',
    });
    const { executionId } = await client.startExecution({ strategyId: strategy.id, workspaceId });
    const pending = await until('both approvals asked', async () => {
      const { approvals } = await client.listApprovals(workspaceId, { executionId });
      return approvals.length === 2 ? approvals : undefined;
    });
    // Both asked at once: the list is oldest first, so either may come first.
    expect(Object.fromEntries(pending.map((a) => [a.taskKey, a.prompt]))).toEqual({ ok: 'Ok?', no: 'No?' });
    const [ok, no] = ['ok', 'no'].map((key) => pending.find((a) => a.taskKey === key)!) as [(typeof pending)[number], (typeof pending)[number]];
    expect((await client.approveTask(executionId, ok.taskId, { comment: 'fine' })).approval).toMatchObject({ status: 'approved', comment: 'fine' });
    expect((await client.rejectTask(executionId, no.taskId)).approval).toMatchObject({ status: 'rejected', comment: null });
    await expect(client.approveTask(executionId, no.taskId)).rejects.toMatchObject({ status: 409 });
    expect(await client.sendSignal(executionId, 'go', { at: 1 })).toMatchObject({ signal: { name: 'go', executionId } });
    await expect(client.sendSignal(executionId, 'bad name')).rejects.toMatchObject({ status: 400, body: { field: 'name' } });
    const status = await until('the run settled', async () => {
      const body = await client.getStatus(executionId, { include: ['detail', 'results'] });
      return body.execution.status === 'completed' ? body : undefined;
    });
    expect(Object.fromEntries(status.tasks.map((t) => [t.key, t.status]))).toEqual({ ok: 'completed', no: 'failed', wait: 'completed' });
    expect(status.tasks.find((t) => t.key === 'wait')?.result).toMatchObject({ signal: { payload: { at: 1 } } });
    await expect(client.sendSignal(executionId, 'go')).rejects.toMatchObject({ status: 409 });
  });
});

describe('StrataRestClient schedules against the API', () => {
  it('creates, reads, lists, changes, lists the ticks of and deletes a schedule', async () => {
    const { strategy } = await client.createStrategy({ workspaceId, name: 'Digest', items });
    const { schedule } = await client.createSchedule({ workspaceId, strategyId: strategy.id, cron: '0 8 * * 1-5', timezone: 'Europe/Paris' });
    expect(schedule).toMatchObject({ id: expect.stringMatching(/^sched_/), cron: '0 8 * * 1-5', timezone: 'Europe/Paris', enabled: true, nextRunAt: expect.any(String) });
    expect((await client.getSchedule(schedule.id)).schedule).toEqual(schedule);
    expect((await client.listSchedules(workspaceId, { strategyId: strategy.id })).schedules.map((s) => s.id)).toEqual([schedule.id]);
    const { schedule: paused } = await client.updateSchedule(schedule.id, { enabled: false });
    expect(paused).toMatchObject({ enabled: false, nextRunAt: null });
    expect((await client.listScheduleRuns(schedule.id, { limit: 5 })).runs).toEqual([]);
    expect(await client.deleteSchedule(schedule.id)).toEqual({ success: true });
    expect((await client.listSchedules(workspaceId, { strategyId: strategy.id })).schedules).toEqual([]);
    // A refusal carries its status and field.
    const error = await client.createSchedule({ workspaceId, strategyId: strategy.id, cron: '* * * * * *' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error).toMatchObject({ status: 400, body: { field: 'cron' } });
  });
});

describe('StrataRestClient: sessions, workspaces and API tokens', () => {
  it('logs in, lists workspaces, creates, lists and revokes a token, and logs out', async () => {
    const as = (token?: string) =>
      new StrataRestClient({ baseUrl: 'http://strata.test', ...(token ? { token } : {}), backoffMs: 1, fetch: (input, init) => handleRest(new Request(input, init), h.deps, { clientAddress: null }) });
    const anonymous = as();
    await expect(anonymous.login('client@example.com', 'wrong password!')).rejects.toMatchObject({ status: 401 });
    const session = await anonymous.login('client@example.com', 'correct horse battery');
    expect(session.user.email).toBe('client@example.com');
    const signedIn = as(session.token);
    expect((await signedIn.me()).workspaces).toEqual([{ id: workspaceId, name: expect.any(String), role: 'owner' }]);
    expect((await signedIn.listWorkspaces()).workspaces.map((w) => w.id)).toEqual([workspaceId]);

    const created = await signedIn.createToken({ name: 'ci', workspaceId });
    expect(created).toMatchObject({ id: expect.stringMatching(/^tok_/), name: 'ci', workspaceId, token: expect.any(String) });
    const listed = await signedIn.listTokens({ workspaceId });
    expect(listed.tokens.map((t) => [t.id, t.revokedAt])).toEqual([[created.id, null]]);
    expect(listed.tokens[0]).not.toHaveProperty('token');
    const byToken = as(created.token);
    expect((await byToken.listWorkspaces()).workspaces.map((w) => w.id)).toEqual([workspaceId]);
    // A token cannot mint tokens: that takes a session.
    await expect(byToken.createToken({ name: 'more' })).rejects.toMatchObject({ status: 403 });

    expect(await signedIn.revokeToken(created.id)).toEqual({ success: true, id: created.id });
    await expect(byToken.listWorkspaces()).rejects.toMatchObject({ status: 401 });
    expect((await signedIn.listTokens()).tokens.find((t) => t.id === created.id)?.revokedAt).toEqual(expect.any(String));

    expect(await signedIn.logout()).toEqual({ success: true });
    await expect(signedIn.me()).rejects.toMatchObject({ status: 401 });
  });
});

describe('StrataRestClient analytics against the API', () => {
  it('reads every part and the summary over a seeded history; a bad range is a 400 naming the field', async () => {
    const analyticsWs = await h.createWorkspace((await h.signup('analytics-client@example.com')).token, 'Measured');
    const otherClient = new StrataRestClient({ baseUrl: 'http://strata.test', token: (await h.signup('analytics-reader@example.com')).token, backoffMs: 1, fetch: (input, init) => handleRest(new Request(input, init), h.deps, { clientAddress: null }) });
    await insertHistory(h.database.db, workspaceId, [
      { status: 'completed', completedAt: '2026-07-01T12:00:00.000Z', healthScore: 90, tasks: [{ agentType: 'content', status: 'completed', startedAt: '2026-07-01T11:59:59.000Z', completedAt: '2026-07-01T12:00:00.000Z' }] },
      { status: 'cancelled', completedAt: '2026-07-02T12:00:00.000Z', healthScore: 60, tasks: [{ agentType: 'content', status: 'failed', startedAt: '2026-07-02T11:59:57.000Z', completedAt: '2026-07-02T12:00:00.000Z', error: 'Quota 42 reached' }] },
    ]);
    const range = { from: '2026-07-01', to: '2026-07-02' };
    const executions = await client.getExecutionAnalytics(workspaceId, range);
    expect(executions.totals).toEqual({ completed: 1, failed: 0, cancelled: 1, finished: 2, successRate: 0.5, averageHealth: 75 });
    expect(executions.days.map((d) => d.date)).toEqual(['2026-07-01', '2026-07-02']);
    // [1000, 3000]: mean 2000, p95 1000 + 0.95 × 2000.
    expect((await client.getTaskAnalytics(workspaceId, range)).agents).toEqual([{ agentType: 'content', finished: 2, completed: 1, failed: 1, averageMs: 2000, p95Ms: 2900 }]);
    expect((await client.getErrorAnalytics(workspaceId, { ...range, limit: 5 })).patterns).toEqual([
      { pattern: 'Quota <n> reached', count: 1, example: 'Quota 42 reached', lastSeenAt: '2026-07-02T12:00:00.000Z', agentTypes: ['content'] },
    ]);
    expect((await client.getQueueAnalytics(workspaceId)).queues.map((q) => q.agentType)).toContain('content');
    const summary = await client.getAnalytics(workspaceId, range);
    expect(summary.executions.totals).toEqual(executions.totals);
    expect(summary.range).toEqual({ ...range, days: 2, timezone: 'UTC' });

    const refused = await client.getAnalytics(workspaceId, { from: '2026-07-03', to: '2026-07-02' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StrataApiError);
    expect(refused).toMatchObject({ status: 400, message: 'from: must not be after to', body: { field: 'from' } });
    expect(await otherClient.getExecutionAnalytics(analyticsWs, range).catch((e: unknown) => e)).toMatchObject({ status: 403, message: 'Access denied' });
  });
});
