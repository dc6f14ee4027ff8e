import type { Db } from '@strata/db';
import { type DependencyResult, NonRetryableError } from '@strata/engine';
import { describe, expect, it } from 'vitest';
import { type AnalysisResult, analyse, analysisAgent, analysisInputSchema, nearestRank, numericValue } from './analysis.ts';
import type { AgentDeps } from './types.ts';
import { agentContext, expectLinearTime } from './testing.ts';

const deps = { config: { AGENT_FETCH_ALLOW_HOSTS: [] }, db: undefined as unknown as Db } as unknown as AgentDeps;

const context = (input: Record<string, unknown>, dependencies: DependencyResult[]) =>
  agentContext({ input, dependencies, task: { id: 't', executionId: 'e', workspaceId: 'w', key: 'stats', agentType: 'analysis' } });

const dep = (key: string, result: unknown): DependencyResult => ({ taskId: `id-${key}`, key, agentType: 'custom', result });

/** Two services' request logs, as two upstream tasks might return them. */
const api = dep('api-logs', {
  service: 'api',
  rows: [
    { region: 'eu', latencyMs: 120, bytes: 2048, metrics: { retries: 0 } },
    { region: 'eu', latencyMs: 80, bytes: '1024', metrics: { retries: 1 } },
    { region: 'us', latencyMs: 200, bytes: 4096, metrics: { retries: 2 } },
    { region: 'us', latencyMs: 'n/a', bytes: 512 },
    { region: 'eu', latencyMs: 100, bytes: null, metrics: { retries: 0 } },
  ],
});
const web = dep('web-logs', {
  service: 'web',
  rows: [
    { region: 'us', latencyMs: 40, bytes: 10_000, metrics: { retries: 0 } },
    { region: 'ap', latencyMs: 300, bytes: 8000, metrics: { retries: 3 } },
    { latencyMs: 60, bytes: true },
    'not a record',
  ],
});

describe('analysis agent', () => {
  it('groups the records of several dependencies and computes counts, sums, means, extremes and percentiles', async () => {
    const { ctx, progress } = context({ path: 'rows', fields: ['latencyMs', 'bytes', 'metrics.retries'], groupBy: 'region', percentiles: [50, 90] }, [api, web]);
    const result = (await analysisAgent(deps).run(ctx)) as AnalysisResult;
    expect(result.recordCount).toBe(8);
    expect(result.groupBy).toBe('region');
    expect(result.percentileMethod).toBe('nearest-rank');
    expect(result.groups.map((g) => [g.key, g.count])).toEqual([
      ['eu', 3],
      ['us', 3],
      ['ap', 1],
      ['(missing)', 1],
    ]);

    const latency = result.overall.fields.latencyMs;
    // Values: 120, 80, 200, 100, 40, 300, 60 ('n/a' is missing).
    expect(latency).toEqual({ count: 7, missing: 1, sum: 900, mean: 900 / 7, min: 40, max: 300, percentiles: { p50: 100, p90: 300 } });
    // bytes: 2048, '1024' (a numeric string counts), 4096, 512, 10000, 8000; null and true are missing.
    expect(result.overall.fields.bytes).toMatchObject({ count: 6, missing: 2, sum: 25_680, min: 512, max: 10_000 });
    expect(result.overall.fields['metrics.retries']).toMatchObject({ count: 6, missing: 2, sum: 6, mean: 1, max: 3 });

    const eu = result.groups.find((g) => g.key === 'eu');
    expect(eu?.fields.latencyMs).toEqual({ count: 3, missing: 0, sum: 300, mean: 100, min: 80, max: 120, percentiles: { p50: 100, p90: 120 } });
    const us = result.groups.find((g) => g.key === 'us');
    expect(us?.fields.latencyMs).toMatchObject({ count: 2, missing: 1, sum: 240, mean: 120, percentiles: { p50: 40, p90: 200 } });

    expect(result.table.columns.slice(0, 10)).toEqual([
      'group',
      'count',
      'latencyMs.count',
      'latencyMs.missing',
      'latencyMs.sum',
      'latencyMs.mean',
      'latencyMs.min',
      'latencyMs.max',
      'latencyMs.p50',
      'latencyMs.p90',
    ]);
    expect(result.table.rows).toHaveLength(5);
    for (const row of result.table.rows) expect(row).toHaveLength(result.table.columns.length);
    expect(result.table.rows[0]?.slice(0, 10)).toEqual(['eu', 3, 3, 0, 300, 100, 80, 120, 100, 120]);
    expect(result.table.rows.at(-1)?.slice(0, 4)).toEqual(['(all)', 8, 7, 1]);
    expect(result.notes).toEqual([]);
    expect(progress).toEqual([{ stage: 'analysed', recordCount: 8, groups: 4 }]);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('finds records without a path: research sources, plain arrays and single objects', () => {
    const research = dep('research', {
      sources: [
        { url: 'https://a.example/', status: 200, title: 'A', highlights: ['x'] },
        { url: 'https://b.example/', status: 200, title: 'B', highlights: [] },
        { url: 'https://c.example/', status: 404, title: '', highlights: [] },
      ],
    });
    const list = dep('list', [{ status: 500 }, 7, null]);
    const single = dep('single', { status: 301 });
    const result = analyse(analysisInputSchema.parse({ fields: ['status'], groupBy: 'status' }), [research, list, single]);
    expect(result.recordCount).toBe(5);
    expect(result.groups.map((g) => [g.key, g.count])).toEqual([
      ['200', 2],
      ['404', 1],
      ['500', 1],
      ['301', 1],
    ]);
    expect(result.overall.fields.status?.percentiles).toEqual({ p50: 301, p90: 500, p99: 500 });
    expect(result.groups).toHaveLength(4);
  });

  it('computes nearest-rank percentiles as stated', () => {
    const sorted = [15, 20, 35, 40, 50];
    expect([0, 5, 30, 40, 50, 100].map((p) => nearestRank(sorted, p))).toEqual([15, 15, 20, 20, 35, 50]);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 90, 99, 99.9].map((p) => nearestRank(hundred, p))).toEqual([50, 90, 99, 100]);
    expect(nearestRank([], 50)).toBeNull();
  });

  it('sums accurately and reads numbers strictly', () => {
    const rows = Array.from({ length: 10 }, () => ({ v: 0.1 }));
    const result = analyse(analysisInputSchema.parse({ fields: ['v'] }), [dep('d', rows)]);
    expect(result.overall.fields.v?.sum).toBe(1);
    expect([numericValue(' 12.5 '), numericValue('1e3'), numericValue('-.5'), numericValue(''), numericValue('12px'), numericValue(Number.NaN), numericValue(true), numericValue(null)]).toEqual([
      12.5,
      1000,
      -0.5,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('gives a clear result when there are no records or no numeric values', () => {
    const none = analyse(analysisInputSchema.parse({ fields: ['x'] }), []);
    expect(none.recordCount).toBe(0);
    expect(none.overall.fields.x).toEqual({ count: 0, missing: 0, sum: 0, mean: null, min: null, max: null, percentiles: { p50: null, p90: null, p99: null } });
    expect(none.notes).toEqual(['This task has no dependencies, so there are no records to analyse.']);
    expect(none.table.rows).toEqual([['(all)', 0, 0, 0, 0, null, null, null, null, null, null]]);

    const missingPath = analyse(analysisInputSchema.parse({ path: 'rows', fields: ['latencyMs'] }), [api, dep('other', { items: [] })]);
    expect(missingPath.recordCount).toBe(5);
    expect(missingPath.notes).toEqual(['Dependency "other" has nothing at path "rows".']);

    const text = analyse(analysisInputSchema.parse({ path: 'rows', fields: ['region'] }), [api]);
    expect(text.overall.fields.region).toMatchObject({ count: 0, missing: 5, mean: null });
    expect(text.notes).toEqual(['Field "region" has no numeric values.']);
  });

  it.each([
    [{ fields: [] }, 'fields'],
    [{}, 'fields'],
    [{ fields: ['a', 'a'] }, 'fields'],
    [{ fields: ['a'], percentiles: [101] }, 'percentiles.0'],
    [{ fields: ['a'], groupBy: '' }, 'groupBy'],
    [{ fields: ['a..b'] }, 'fields.0'],
    [{ fields: ['a'], source: 'input' }, 'source'],
  ])('rejects %j with a non-retryable error', async (input, path) => {
    const parsed = analysisInputSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(path);
    await expect(analysisAgent(deps).run(context(input, [api]).ctx)).rejects.toBeInstanceOf(NonRetryableError);
  });
});

describe('numericValue on hostile strings', () => {
  it('runs in linear time on long near-numbers', () => {
    expectLinearTime((size) => `${'1'.repeat(size)}x`, numericValue);
    expectLinearTime((size) => `1.${'1'.repeat(size)}e`, numericValue);
    expectLinearTime((size) => `${' '.repeat(size)}x`, numericValue);
  });

  it('still reads the same numbers', () => {
    expect(['1', ' -2.5 ', '3.', '.5', '1e3', '+1.5E-2'].map(numericValue)).toEqual([1, -2.5, 3, 0.5, 1000, 0.015]);
    expect(['1.2.3', '.', 'e5', '1e', '--1', ''].map(numericValue)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
