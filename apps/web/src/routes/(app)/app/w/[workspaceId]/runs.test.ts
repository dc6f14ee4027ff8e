import { describe, expect, it } from 'vitest';
import type { ExecutionRow } from './api-types.ts';
import { listQuery, runBars, runDurationMs, runSummary } from './runs.ts';
import { tokenState } from './tokens.ts';

const run = (id: string, status: ExecutionRow['status'], startedAt: string | null, completedAt: string | null): ExecutionRow => ({
  id,
  status,
  strategyId: 'strat_1',
  strategyName: 'Launch',
  workspaceId: 'ws_1',
  createdAt: '2030-01-01T00:00:00.000Z',
  startedAt,
  completedAt,
  totalTasks: 1,
  completedTasks: 0,
  failedTasks: 0,
  trigger: 'api',
  scheduleId: null,
  retryOf: null,
  parentExecutionId: null,
  parentTaskId: null,
});
const NOW = Date.parse('2030-01-01T00:01:00.000Z');

describe('the executions list helpers', () => {
  it('writes the list query with statuses comma-separated and a trimmed search', () => {
    expect(listQuery('ws 1', { statuses: [], q: '  ' }, 20)).toBe('/api/executions?workspaceId=ws+1&limit=20');
    expect(listQuery('ws_1', { statuses: ['running', 'paused'], q: ' launch ' }, 40, 'abc')).toBe(
      '/api/executions?workspaceId=ws_1&limit=40&status=running%2Cpaused&q=launch&cursor=abc',
    );
  });

  it('measures a finished run, a running one up to now, and nothing before the start', () => {
    expect(runDurationMs(run('a', 'completed', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:02.500Z'), NOW)).toBe(2500);
    expect(runDurationMs(run('b', 'running', '2030-01-01T00:00:30.000Z', null), NOW)).toBe(30_000);
    expect(runDurationMs(run('c', 'pending', null, null), NOW)).toBeNull();
  });

  it('draws the latest runs oldest first, summarised by status with the median finished duration', () => {
    const runs = [
      run('newest', 'running', '2030-01-01T00:00:50.000Z', null), // 10 s so far
      run('mid', 'failed', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:40.000Z'), // 40 s
      run('old', 'completed', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:10.000Z'), // 10 s
      run('oldest', 'completed', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:20.000Z'), // 20 s
    ];
    const bars = runBars(runs, NOW, 3);
    expect(bars.map((b) => b.id)).toEqual(['old', 'mid', 'newest']);
    expect(bars.map((b) => b.height)).toEqual([0.5, 1, 0.5]);
    expect(runSummary(bars)).toEqual({ counts: { completed: 1, failed: 1, running: 1 }, medianMs: 10_000 });
    expect(runSummary([])).toEqual({ counts: {}, medianMs: null });
  });

  it('says whether a token still works: revoked before expired', () => {
    expect(tokenState({ revokedAt: null, expiresAt: null }, NOW)).toBe('active');
    expect(tokenState({ revokedAt: null, expiresAt: '2030-01-01T00:00:59.000Z' }, NOW)).toBe('expired');
    expect(tokenState({ revokedAt: '2029-12-31T00:00:00.000Z', expiresAt: '2030-01-01T00:00:59.000Z' }, NOW)).toBe('revoked');
  });
});
