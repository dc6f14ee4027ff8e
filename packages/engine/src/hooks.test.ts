import { afterEach, describe, expect, it } from 'vitest';
import { blockAt, clearHooks, hookPoint, onHook } from './hooks.ts';

afterEach(clearHooks);

describe('hook points', () => {
  it('cost nothing and hold nothing without a listener', async () => {
    await expect(hookPoint('nobody-listens', { a: 1 })).resolves.toBeUndefined();
  });

  it('hold a matching caller until released, and let the others through', async () => {
    const barrier = blockAt('step', { match: (info) => info.id === 'b' });
    const order: string[] = [];
    const a = hookPoint('step', { id: 'a' }).then(() => order.push('a'));
    const b = hookPoint('step', { id: 'b' }).then(() => order.push('b'));
    await a;
    expect(await barrier.reached).toEqual({ id: 'b' });
    expect(order).toEqual(['a']);
    barrier.release();
    await b;
    expect(order).toEqual(['a', 'b']);
    expect(barrier.hits).toBe(1);
  });

  it('hold only as many callers as told', async () => {
    const barrier = blockAt('step', { times: 1 });
    const first = hookPoint('step', { n: 1 });
    await barrier.reached;
    await hookPoint('step', { n: 2 });
    expect(barrier.hits).toBe(2);
    barrier.remove();
    await first;
  });

  it('run listeners in order and stop listening when removed', async () => {
    const seen: number[] = [];
    const off = onHook('step', (info) => {
      seen.push(info.n as number);
    });
    await hookPoint('step', { n: 1 });
    off();
    await hookPoint('step', { n: 2 });
    expect(seen).toEqual([1]);
  });
});
