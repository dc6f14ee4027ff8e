import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { executions } from '@strata/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution } from '../lifecycle.ts';
import { agentQueue } from '../queue.ts';
import { createEngineHarness, type EngineHarness, type HistoryExecution, insertHistory } from '../testing.ts';
import { analyticsRangeSchema, analyticsSummary, errorAnalytics, executionAnalytics, lastDays, queueAnalytics, taskAnalytics } from './index.ts';

/**
 * Analytics over a known history, every number worked out by hand below. The range is
 * 2026-03-01 … 2026-03-03 (UTC, both days included): [2026-03-01T00:00Z, 2026-03-04T00:00Z).
 */
let h: EngineHarness;
let ws: string;
let other: string;
const range = analyticsRangeSchema.parse({ from: '2026-03-01', to: '2026-03-03' });

const task = (agentType: 'email' | 'research' | 'content', status: 'completed' | 'failed', completedAt: string, ms: number, error?: string) => ({
  agentType,
  status,
  startedAt: new Date(Date.parse(completedAt) - ms).toISOString(),
  completedAt,
  ...(error ? { error } : {}),
});

const HISTORY: HistoryExecution[] = [
  // Day 1. The first instant of the range counts (inclusive start).
  {
    status: 'completed',
    completedAt: '2026-03-01T00:00:00.000Z',
    healthScore: 100,
    tasks: [
      task('email', 'completed', '2026-03-01T10:00:01.000Z', 1000),
      task('email', 'completed', '2026-03-01T10:00:02.000Z', 2000),
      // Started the day before, finished at the first instant: counted on the day it finished.
      task('email', 'failed', '2026-03-01T00:00:00.000Z', 3000, 'Timed out after 300 s on task_abc123'),
      task('email', 'completed', '2026-03-02T10:00:00.000Z', 4000),
      task('email', 'completed', '2026-03-02T11:00:00.000Z', 10_000),
      task('email', 'failed', '2026-03-02T12:00:00.000Z', 5000, 'Timed out after 120 s on task_zzz999'),
      task('research', 'failed', '2026-03-02T09:00:00.000Z', 500, 'HTTP 503 fetching exec_1764000000000_ab12cd34'),
      // The last instant of the range counts.
      task('research', 'failed', '2026-03-03T23:59:59.999Z', 1500, 'HTTP 500 fetching exec_1764000000001_zz99yy88'),
      task('content', 'failed', '2026-03-03T08:00:00.000Z', 250, 'Row 7f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6   missing'),
      // Not counted: finished at the first instant after the range, carried over by a re-run,
      // skipped (with a reason in `error`).
      task('email', 'completed', '2026-03-04T00:00:00.000Z', 99_000),
      { ...task('email', 'completed', '2026-03-02T10:00:00.000Z', 77_000), reused: true },
      { agentType: 'email', status: 'skipped', completedAt: '2026-03-02T10:00:00.000Z', error: 'Skipped: a dependency failed' },
    ],
  },
  // Day 1, the last instant of it.
  { status: 'failed', completedAt: '2026-03-01T23:59:59.999Z', healthScore: 40 },
  // Day 2; one without a recorded health score (counted, not averaged).
  { status: 'completed', completedAt: '2026-03-02T12:00:00.000Z', healthScore: 90 },
  { status: 'cancelled', completedAt: '2026-03-02T13:00:00.000Z', healthScore: 70 },
  { status: 'completed', completedAt: '2026-03-02T14:00:00.000Z', healthScore: null },
  // Day 3, its last instant.
  { status: 'completed', completedAt: '2026-03-03T23:59:59.999Z', healthScore: 81 },
  // Not counted: just after and just before the range, not finished, failed but still finishing.
  { status: 'completed', completedAt: '2026-03-04T00:00:00.000Z', healthScore: 10 },
  { status: 'failed', completedAt: '2026-02-28T23:59:59.999Z', healthScore: 10 },
  { status: 'running', healthScore: null },
  { status: 'failed', completedAt: null, healthScore: null },
];

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 5, maxMs: 5 } });
  ws = await h.workspace('Analytics');
  other = await h.workspace('Another');
  await insertHistory(h.database.db, ws, HISTORY);
  // Another workspace's history on the same days never shows.
  await insertHistory(h.database.db, other, [
    { status: 'failed', completedAt: '2026-03-02T00:00:00.000Z', healthScore: 0, tasks: [task('email', 'failed', '2026-03-02T00:00:00.000Z', 1, 'Timed out after 1 s on task_x')] },
  ]);
});
afterAll(async () => {
  await h?.close();
});

describe('executions by day', () => {
  it('counts finished executions by the UTC day they finished, with success rate and average health', async () => {
    const result = await executionAnalytics(h.database.db, ws, range);
    expect(result.range).toEqual({ from: '2026-03-01', to: '2026-03-03', days: 3, timezone: 'UTC' });
    expect(result.days).toEqual([
      // 1 completed, 1 failed: 1/2; health (100 + 40) / 2.
      { date: '2026-03-01', completed: 1, failed: 1, cancelled: 0, finished: 2, successRate: 0.5, averageHealth: 70 },
      // 2 completed, 1 cancelled: 2/3; health (90 + 70) / 2, the one without a score left out.
      { date: '2026-03-02', completed: 2, failed: 0, cancelled: 1, finished: 3, successRate: 0.6667, averageHealth: 80 },
      { date: '2026-03-03', completed: 1, failed: 0, cancelled: 0, finished: 1, successRate: 1, averageHealth: 81 },
    ]);
    // 4 of 6; health (100 + 40 + 90 + 70 + 81) / 5 = 76.2: the mean of the executions, not of the days.
    expect(result.totals).toEqual({ completed: 4, failed: 1, cancelled: 1, finished: 6, successRate: 0.6667, averageHealth: 76.2 });
  });

  it('moves a day in or out with the range bounds (a day is [00:00Z, next 00:00Z))', async () => {
    const day = (date: string) => executionAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: date, to: date }));
    expect((await day('2026-02-28')).totals).toMatchObject({ failed: 1, finished: 1, averageHealth: 10 });
    expect((await day('2026-03-01')).totals).toMatchObject({ completed: 1, failed: 1, finished: 2 });
    expect((await day('2026-03-04')).totals).toMatchObject({ completed: 1, finished: 1, averageHealth: 10 });
    const wider = await executionAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: '2026-02-28', to: '2026-03-04' }));
    expect(wider.days.map((d) => d.finished)).toEqual([1, 2, 3, 1, 1]);
    expect(wider.totals).toMatchObject({ completed: 5, failed: 2, cancelled: 1, finished: 8, successRate: 0.625 });
  });

  it('answers every day with zeros and no rates for an empty range', async () => {
    const empty = await executionAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: '2025-01-01', to: '2025-01-07' }));
    expect(empty.days).toHaveLength(7);
    expect(empty.days[0]).toEqual({ date: '2025-01-01', completed: 0, failed: 0, cancelled: 0, finished: 0, successRate: null, averageHealth: null });
    expect(empty.days[6]?.date).toBe('2025-01-07');
    expect(empty.totals).toEqual({ completed: 0, failed: 0, cancelled: 0, finished: 0, successRate: null, averageHealth: null });
  });
});

describe('task durations per agent type', () => {
  it('averages and takes the p95 of finished tasks (completed or failed, not reused) by agent type', async () => {
    const result = await taskAnalytics(h.database.db, ws, range);
    expect(result.agents).toEqual([
      // 250 alone.
      { agentType: 'content', finished: 1, completed: 0, failed: 1, averageMs: 250, p95Ms: 250 },
      // [1000, 2000, 3000, 4000, 5000, 10000]: mean 25000 / 6 = 4166.67; p95 at 0.95 × 5 = 4.75: 5000 + 0.75 × 5000.
      { agentType: 'email', finished: 6, completed: 4, failed: 2, averageMs: 4167, p95Ms: 8750 },
      // [500, 1500]: mean 1000; p95 at 0.95 × 1: 500 + 0.95 × 1000.
      { agentType: 'research', finished: 2, completed: 0, failed: 2, averageMs: 1000, p95Ms: 1450 },
    ]);
    const empty = await taskAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: '2025-01-01', to: '2025-01-01' }));
    expect(empty.agents).toEqual([]);
  });
});

describe('error patterns', () => {
  it('groups failed tasks by their error with ids, UUIDs and numbers replaced, most frequent first', async () => {
    const result = await errorAnalytics(h.database.db, ws, range);
    expect(result).toMatchObject({ failedTasks: 5, patternCount: 3 });
    expect(result.patterns).toEqual([
      // Tied at 2: by pattern text.
      { pattern: 'HTTP <n> fetching <id>', count: 2, example: 'HTTP 500 fetching exec_1764000000001_zz99yy88', lastSeenAt: '2026-03-03T23:59:59.999Z', agentTypes: ['research'] },
      { pattern: 'Timed out after <n> s on <id>', count: 2, example: 'Timed out after 120 s on task_zzz999', lastSeenAt: '2026-03-02T12:00:00.000Z', agentTypes: ['email'] },
      { pattern: 'Row <uuid> missing', count: 1, example: 'Row 7f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6   missing', lastSeenAt: '2026-03-03T08:00:00.000Z', agentTypes: ['content'] },
    ]);
    // A limit shortens the list, not the totals.
    const top = await errorAnalytics(h.database.db, ws, range, 1);
    expect(top).toMatchObject({ failedTasks: 5, patternCount: 3 });
    expect(top.patterns.map((p) => p.pattern)).toEqual(['HTTP <n> fetching <id>']);
    // The first day alone: only the timeout at its first instant.
    const first = await errorAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: '2026-03-01', to: '2026-03-01' }));
    expect(first.patterns).toEqual([expect.objectContaining({ pattern: 'Timed out after <n> s on <id>', count: 1, example: 'Timed out after 300 s on task_abc123' })]);
    const none = await errorAnalytics(h.database.db, ws, analyticsRangeSchema.parse({ from: '2025-01-01', to: '2025-01-01' }));
    expect(none).toMatchObject({ failedTasks: 0, patternCount: 0, patterns: [] });
  });
});

describe('queue depth now', () => {
  it("reads every agent queue and this workspace's queued, throttled, running and waiting tasks", async () => {
    const [running] = await insertHistory(h.database.db, ws, [
      {
        status: 'running',
        tasks: [
          { agentType: 'email', status: 'assigned' },
          { agentType: 'email', status: 'assigned' },
          { agentType: 'email', status: 'assigned', throttleScope: `type:${ws}:email` },
          { agentType: 'content', status: 'in_progress', startedAt: '2026-03-01T00:00:00Z' },
          { agentType: 'content', status: 'in_progress', startedAt: '2026-03-01T00:00:00Z', wakeAt: '2099-01-01T00:00:00Z' },
        ],
      },
    ]);
    // The other workspace's queued task is in the shared queue but not in this workspace's counts.
    await insertHistory(h.database.db, other, [{ status: 'running', tasks: [{ agentType: 'email', status: 'assigned' }] }]);
    await h.boss.send(agentQueue('email'), { taskId: 'task_a', attempt: 1 });
    await h.boss.send(agentQueue('email'), { taskId: 'task_b', attempt: 1 }, { startAfter: 3600 });
    const result = await queueAnalytics(h.database.db, ws);
    const byType = Object.fromEntries(result.queues.map((q) => [q.agentType, q]));
    expect(Object.keys(byType)).toEqual(['email', 'content', 'research', 'scheduling', 'analysis', 'coordination', 'approval', 'strategy']);
    expect(byType.email).toMatchObject({ ready: 1, delayed: 1, active: 0, workspaceQueued: 2, workspaceThrottled: 1, workspaceRunning: 0, workspaceWaiting: 0 });
    expect(byType.content).toMatchObject({ ready: 0, delayed: 0, active: 0, workspaceQueued: 0, workspaceThrottled: 0, workspaceRunning: 1, workspaceWaiting: 1 });
    expect(byType.research).toMatchObject({ ready: 0, workspaceQueued: 0, workspaceRunning: 0 });
    // Once the execution is no longer active its tasks leave the counts.
    await h.database.db.update(executions).set({ status: 'paused' }).where(eq(executions.id, running!));
    expect((await queueAnalytics(h.database.db, ws)).queues.find((q) => q.agentType === 'email')).toMatchObject({ workspaceQueued: 2 });
    await h.database.db.update(executions).set({ status: 'completed', completedAt: new Date('2020-01-01T00:00:00Z') }).where(eq(executions.id, running!));
    expect((await queueAnalytics(h.database.db, ws)).queues.find((q) => q.agentType === 'email')).toMatchObject({ workspaceQueued: 0, workspaceThrottled: 0 });
  });
});

describe('the summary', () => {
  it('is the four parts, each as read alone', async () => {
    const summary = await analyticsSummary(h.database.db, ws, range, { errorLimit: 2 });
    const strip = <T extends { workspaceId: string; range: unknown }>({ workspaceId: _w, range: _r, ...rest }: T) => rest;
    expect(summary.workspaceId).toBe(ws);
    expect(summary.range).toEqual(range);
    expect(summary.executions).toEqual(strip(await executionAnalytics(h.database.db, ws, range)));
    expect(summary.tasks).toEqual(strip(await taskAnalytics(h.database.db, ws, range)));
    expect(summary.errors).toEqual(strip(await errorAnalytics(h.database.db, ws, range, 2)));
    expect(summary.queues.queues).toHaveLength(8);
  });
});

describe('the range', () => {
  const refusal = (input: unknown) => {
    const result = analyticsRangeSchema.safeParse(input);
    return result.success ? undefined : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('takes whole UTC days, both included, up to 366 of them', () => {
    expect(analyticsRangeSchema.parse({ from: '2024-01-01', to: '2024-12-31' })).toEqual({ from: '2024-01-01', to: '2024-12-31', days: 366, timezone: 'UTC' });
    expect(analyticsRangeSchema.parse({ from: '2026-03-01', to: '2026-03-01' }).days).toBe(1);
    expect(refusal({ from: '2024-01-01', to: '2025-01-01' })).toEqual(['from: the range must be at most 366 days (it is 367)']);
    expect(refusal({ from: '2026-03-02', to: '2026-03-01' })).toEqual(['from: must not be after to']);
    expect(refusal({ from: '2026-3-1', to: '2026-03-01' })).toEqual(['from: must be a date as YYYY-MM-DD']);
    expect(refusal({ from: '2026-03-01T00:00:00Z', to: '2026-03-01' })).toEqual(['from: must be a date as YYYY-MM-DD']);
    expect(refusal({ from: '2026-02-29', to: '2026-03-01' })).toEqual(['from: is not a calendar date']);
    expect(refusal({ to: 'yesterday' })).toEqual(['to: must be a date as YYYY-MM-DD']);
    expect(refusal({ from: 20260301 })).toHaveLength(1);
  });

  it('defaults to the last 30 days, today (UTC) included', () => {
    const today = new Date().toISOString().slice(0, 10);
    expect(analyticsRangeSchema.parse({})).toEqual({ ...lastDays(30), to: today });
    expect(analyticsRangeSchema.parse({ to: '2026-03-30' })).toEqual({ from: '2026-03-01', to: '2026-03-30', days: 30, timezone: 'UTC' });
    expect(lastDays(7, new Date('2026-03-10T23:59:59Z'))).toEqual({ from: '2026-03-04', to: '2026-03-10', days: 7, timezone: 'UTC' });
    expect(refusal({ from: '2999-01-01' })).toEqual(['from: must not be after to (today, when to is not given)']);
  });
});

describe('the health score an execution ends with', () => {
  it('is written with its final status, as the final health-update says', async () => {
    let failures = 0;
    h.registry.register('content', async ({ task }) => {
      if (task.key === 'flaky' && failures++ === 0) throw new Error('first try fails');
      return { text: 'ok' };
    });
    const worker = await h.startWorker();
    try {
      const strategyId = await h.strategy(ws, [
        { key: 'steady', description: 'Steady', agentType: 'content' },
        { key: 'flaky', description: 'Flaky', agentType: 'content' },
      ]);
      const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
      await h.waitForStatus(execution.id, ['completed']);
      const [row] = await h.database.db.select({ healthScore: executions.healthScore }).from(executions).where(eq(executions.id, execution.id));
      const health = (await h.events(execution.id)).filter((e) => e.type === 'health-update').at(-1);
      // One of two tasks retried: 100 − min(20, 5 + 15 × 1/2) = 87.5, rounded to 88.
      expect(row?.healthScore).toBe(88);
      expect(health?.data.score).toBe(88);
      // The migration's backfill of executions finished before it gives the same score.
      const migration = readFileSync(fileURLToPath(new URL('../../../db/migrations/0016_analytics.sql', import.meta.url)), 'utf8');
      const backfill = migration.split('--> statement-breakpoint').at(-1)!;
      await h.database.db.update(executions).set({ healthScore: null }).where(eq(executions.id, execution.id));
      await h.database.sql.unsafe(backfill);
      const [again] = await h.database.db.select({ healthScore: executions.healthScore }).from(executions).where(eq(executions.id, execution.id));
      expect(again?.healthScore).toBe(88);
    } finally {
      await worker.stop();
    }
  });
});
