import { AGENT_TYPES } from '@strata/db';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { findCycle, validateItems } from './validate.ts';

const item = (key: string, dependsOn: string[] = [], agentType = 'email') => ({ key, dependsOn, agentType });

function errorOf(fn: () => void): EngineError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('validateItems', () => {
  it('accepts a diamond', () => {
    expect(() => validateItems([item('a'), item('b', ['a']), item('c', ['a']), item('d', ['b', 'c'])])).not.toThrow();
  });

  it('accepts an empty strategy', () => {
    expect(() => validateItems([])).not.toThrow();
  });

  it('names an unknown agent type', () => {
    const error = errorOf(() => validateItems([item('a'), item('b', [], 'telepathy')]));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toBe(`Item "b": unknown agent type "telepathy" (expected one of ${AGENT_TYPES.join(', ')})`);
    expect(error.details?.path).toBe('items[1].agentType');
  });

  it('names a duplicate key', () => {
    expect(errorOf(() => validateItems([item('a'), item('a')])).message).toBe('Item "a": duplicate key');
  });

  it('names an unknown dependency', () => {
    const error = errorOf(() => validateItems([item('a', ['ghost'])]));
    expect(error.message).toBe('Item "a": unknown dependency "ghost"');
    expect(error.details?.path).toBe('items[0].dependsOn[0]');
  });

  it('names a dependency listed twice', () => {
    const error = errorOf(() => validateItems([item('a'), item('b', ['a', 'a'])]));
    expect(error.message).toBe('Item "b": duplicate dependency "a"');
    expect(error.details).toEqual({ item: 'b', index: 1, path: 'items[1].dependsOn[1]' });
  });

  it('names a self dependency', () => {
    expect(errorOf(() => validateItems([item('a', ['a'])])).message).toBe('Item "a": depends on itself');
  });

  it('names the cycle', () => {
    const error = errorOf(() => validateItems([item('a', ['c']), item('b', ['a']), item('c', ['b']), item('d')]));
    expect(error.message).toBe('Dependency cycle: a -> c -> b -> a');
    expect(error.details?.cycle).toEqual(['a', 'c', 'b', 'a']);
    expect(error.details?.path).toBe('items[0].dependsOn');
  });
});

describe('findCycle', () => {
  it('handles a 10,000-deep chain without recursion', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => item(`t${i}`, i === 0 ? [] : [`t${i - 1}`]));
    expect(findCycle(chain)).toBeUndefined();
    chain[0] = item('t0', ['t9999']);
    expect(findCycle(chain)?.length).toBe(10_001);
  });
});
