import { describe, expect, it } from 'vitest';
import { findStrategyCycle, type Hop, hopOf, type NestingGraph } from './nesting.ts';

/** A graph from `id: [targets]` (each target `id` for the latest or `id@v` pinned); every strategy at version 1 unless listed in `versions`. */
function graph(edges: Record<string, string[]>, versions: Record<string, Record<number, string[]>> = {}, archived: string[] = []): NestingGraph {
  const hop = (target: string, key: string): Hop => {
    const [strategyId, version] = target.split('@');
    return { key, strategyId: strategyId!, version: version ? Number(version) : undefined };
  };
  const g: NestingGraph = { strategies: new Map(), hops: new Map() };
  for (const [id, targets] of Object.entries(edges)) {
    const byVersion = versions[id] ?? { 1: targets };
    const latest = Math.max(...Object.keys(byVersion).map(Number));
    g.strategies.set(id, { version: latest, archived: archived.includes(id), inputSchema: null });
    for (const [version, list] of Object.entries(byVersion)) {
      g.hops.set(
        `${id}@${version}`,
        list.map((t, i) => hop(t, `${id}-${i}`)),
      );
    }
  }
  return g;
}
const rootHops = (g: NestingGraph, id: string) => g.hops.get(`${id}@${g.strategies.get(id)!.version}`) ?? [];

describe('strategy cycles', () => {
  it('finds a cycle through two strategies, named from the root', () => {
    const g = graph({ a: ['b'], b: ['a'] });
    expect(findStrategyCycle(g, rootHops(g, 'a'), ['a'])).toEqual({ path: ['a', 'b', 'a'], item: 'a-0' });
  });

  it('finds a strategy running itself directly', () => {
    const g = graph({ a: ['a'] });
    expect(findStrategyCycle(g, rootHops(g, 'a'), ['a'])?.path).toEqual(['a', 'a']);
  });

  it('reports a cycle below the root that the root would run into', () => {
    const g = graph({ a: ['b'], b: ['c'], c: ['b'] });
    expect(findStrategyCycle(g, rootHops(g, 'a'), ['a'])).toEqual({ path: ['b', 'c', 'b'], item: 'a-0' });
  });

  it('counts the executions above the root: a child that would run one of its ancestors', () => {
    const g = graph({ a: ['b'], b: ['c'], c: [] });
    expect(findStrategyCycle(g, [{ key: 'x', strategyId: 'a', version: undefined }], ['a', 'b', 'c'])?.path).toEqual(['a', 'b', 'c', 'a']);
  });

  it('accepts a diamond, and walks each shared strategy once', () => {
    const edges: Record<string, string[]> = {};
    // 30 layers of two strategies each pointing at both of the next layer: 2^30 paths, 60 strategies.
    for (let layer = 0; layer < 30; layer++) edges[`l${layer}a`] = edges[`l${layer}b`] = layer < 29 ? [`l${layer + 1}a`, `l${layer + 1}b`] : [];
    edges.root = ['l0a', 'l0b'];
    const g = graph(edges);
    expect(findStrategyCycle(g, rootHops(g, 'root'), ['root'])).toBeUndefined();
  });

  it('follows a pinned version, and counts another version of the same strategy as itself', () => {
    // b@1 runs nothing; b@2 (latest) runs a: pinned to b@1, a has no cycle; unpinned it has one.
    const g = graph({ a: ['b@1'], b: [] }, { b: { 1: [], 2: ['a'] } });
    expect(findStrategyCycle(g, rootHops(g, 'a'), ['a'])).toBeUndefined();
    const unpinned = graph({ a: ['b'], b: [] }, { b: { 1: [], 2: ['a'] } });
    expect(findStrategyCycle(unpinned, rootHops(unpinned, 'a'), ['a'])?.path).toEqual(['a', 'b', 'a']);
    // c@2 runs c@1: the strategy runs itself, whichever version.
    const self = graph({ c: [] }, { c: { 1: [], 2: ['c@1'] } });
    expect(findStrategyCycle(self, rootHops(self, 'c'), ['c'])?.path).toEqual(['c', 'c']);
  });

  it('ends a path at a strategy that cannot run (unknown or archived): refused on its own', () => {
    const g = graph({ a: ['b', 'gone'], b: ['a'] }, {}, ['b']);
    expect(findStrategyCycle(g, rootHops(g, 'a'), ['a'])).toBeUndefined();
  });

  it('reads a hop from a strategy item, and nothing from other items or invalid input', () => {
    expect(hopOf({ key: 's', agentType: 'strategy', input: { strategyId: 'strat_x', version: 2 } })).toEqual({ key: 's', strategyId: 'strat_x', version: 2 });
    expect(hopOf({ key: 's', agentType: 'email', input: { strategyId: 'strat_x' } })).toBeUndefined();
    expect(hopOf({ key: 's', agentType: 'strategy', input: { strategy: 'strat_x' } })).toBeUndefined();
  });
});
