import { describe, expect, it } from 'vitest';
import { newExecutionId, newId, randomId } from './ids.ts';

describe('ids', () => {
  it('have the documented shapes', () => {
    expect(newId('sched')).toMatch(/^sched_[a-z0-9]{16}$/);
    expect(newExecutionId(1_700_000_000_000)).toMatch(/^exec_1700000000000_[a-z0-9]{8}$/);
  });

  it('use every character equally often (a byte modulo 36 would favour a–d by 14%)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) for (const c of randomId(18)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(36);
    // 10,000 expected per character, standard deviation ~100: 5% is five of them.
    for (const [c, n] of counts) expect(Math.abs(n - 10_000), c).toBeLessThan(500);
  });
});
