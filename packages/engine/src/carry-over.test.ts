import { describe, expect, it } from 'vitest';
import { planTasks, type StrategyItemRow } from './carry-over.ts';

/** What a re-run carries over, decided from the items and the original's completed tasks alone. */
const item = (key: string, dependsOn: string[] = [], position = 0) => ({ id: `l4_${key}`, key, dependsOn, position }) as unknown as StrategyItemRow;
const keys = (rows: readonly { key: string | null }[]) => rows.map((row) => row.key);

describe('planTasks', () => {
  it('carries over completed tasks with all their dependencies, dependencies first; the tasks whose dependencies were all carried over are the roots', () => {
    // a -> b -> d, a -> c -> d, e; completed: a, b, c (d failed), e.
    const items = [item('d', ['b', 'c']), item('b', ['a']), item('c', ['a']), item('a'), item('e')];
    const completed = new Map(['a', 'b', 'c', 'e'].map((key) => [`l4_${key}`, `task_old_${key}`]));
    const plan = planTasks(items, completed);
    expect(plan.reused.map((r) => [r.item.key, r.originalTaskId])).toEqual([
      ['a', 'task_old_a'],
      ['b', 'task_old_b'],
      ['c', 'task_old_c'],
      ['e', 'task_old_e'],
    ]);
    expect(keys(plan.roots)).toEqual(['d']);
    expect(Object.fromEntries(plan.pending)).toEqual({ a: 0, b: 0, c: 0, d: 0, e: 0 });
  });

  it('never carries over a task whose dependency runs again (it would have read a result that is not there)', () => {
    const items = [item('a'), item('b', ['a']), item('c', ['b'])];
    // b completed in the original, but a did not (a hand-made state): b and c run too.
    const plan = planTasks(items, new Map([['l4_b', 'task_old_b']]));
    expect(plan.reused).toEqual([]);
    expect(keys(plan.roots)).toEqual(['a']);
    expect(Object.fromEntries(plan.pending)).toEqual({ a: 0, b: 1, c: 1 });
  });

  it('with nothing completed is a plain start: the roots are the items without dependencies', () => {
    const items = [item('a'), item('b', ['a']), item('c')];
    const plan = planTasks(items, new Map());
    expect(plan.reused).toEqual([]);
    expect(keys(plan.roots)).toEqual(['a', 'c']);
  });

  it('decides a chain of 20,000 items without overflowing the stack', () => {
    const items = Array.from({ length: 20_000 }, (_, i) => item(`t${i}`, i > 0 ? [`t${i - 1}`] : [], i)).reverse();
    const completed = new Map(Array.from({ length: 19_999 }, (_, i) => [`l4_t${i}`, `task_${i}`]));
    const plan = planTasks(items, completed);
    expect(plan.reused).toHaveLength(19_999);
    expect(plan.reused[0]!.item.key).toBe('t0');
    expect(keys(plan.roots)).toEqual(['t19999']);
  });
});
