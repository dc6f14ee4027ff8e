import { describe, expect, it } from 'vitest';
import { computeHealth, type ExecutionStats } from './health.ts';

const stats = (overrides: Partial<ExecutionStats>): ExecutionStats => ({
  total: 10,
  byStatus: {},
  retriedTasks: 0,
  retryAttempts: 0,
  stalledTasks: 0,
  averageTaskDuration: 0,
  agents: {},
  ...overrides,
});

describe('computeHealth', () => {
  it('scores a fresh run 100 with no issues', () => {
    const health = computeHealth(stats({ byStatus: { pending: 10 } }));
    expect(health).toMatchObject({ score: 100, completionRate: 0, errorRate: 0, issues: [] });
  });

  it('scores a clean finished run 100', () => {
    expect(computeHealth(stats({ byStatus: { completed: 10 } }))).toMatchObject({ score: 100, completionRate: 1, errorRate: 0 });
  });

  it('takes off points for failures, retries and stalls, naming each', () => {
    const health = computeHealth(stats({ byStatus: { completed: 7, failed: 1, in_progress: 2 }, retriedTasks: 2, retryAttempts: 3, stalledTasks: 1 }));
    // 100 - (10 + 50 * 0.1) - min(20, 5 + 15 * 0.2) - min(30, 10)
    expect(health.score).toBe(100 - 15 - 8 - 10);
    expect(health.errorRate).toBe(0.1);
    expect(health.completionRate).toBe(0.7);
    expect(health.issues).toEqual([
      '1 task failed',
      '2 tasks needed retries (3 retry attempts)',
      '1 task in progress past their timeout',
    ]);
  });

  it('never goes below 0', () => {
    expect(computeHealth(stats({ byStatus: { failed: 10 }, retriedTasks: 10, retryAttempts: 30, stalledTasks: 5 })).score).toBe(0);
  });

  it('handles a zero-task execution', () => {
    expect(computeHealth(stats({ total: 0 }))).toMatchObject({ score: 100, completionRate: 1, errorRate: 0 });
  });
});
