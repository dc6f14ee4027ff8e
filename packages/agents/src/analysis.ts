/**
 * The analysis agent: statistics over the records in its dependencies' results.
 *
 * Records: with `path`, the array at that dot path in each dependency's result (a result
 * without it is skipped, with a note); without, a result that is an array gives its elements, an
 * object holding arrays of objects gives their elements (so research's `{ sources: [...] }` gives
 * the sources), and any other object is one record. Only plain objects count as records.
 *
 * Per group (`groupBy`, a dot path in each record) and overall: the record count and, for each
 * field (a dot path): count of numeric values, missing (absent or non-numeric), sum, mean, min,
 * max and percentiles. Numbers and numeric strings ("12.5") count; anything else is missing.
 * Percentiles use the nearest-rank method: the p-th percentile is the smallest value with at
 * least p% of the values at or below it (rank ceil(p/100 * n), and p0 is the minimum), so it is
 * always one of the values. Sums are compensated (Neumaier) so long columns stay exact enough.
 */
import { NonRetryableError } from '@strata/engine';
import { z } from 'zod';
import type { BuiltInAgent } from './types.ts';

const dotPath = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^.]+(\.[^.]+)*$/, 'must be a dot path like "rows" or "metrics.latency"');

export const analysisInputSchema = z.object({
  source: z.enum(['dependencies']).default('dependencies'),
  /** Dot path to the array of records in each dependency result, e.g. "sources" or "data.rows". */
  path: dotPath.optional(),
  /** The numeric fields (dot paths in each record). */
  fields: z
    .array(dotPath)
    .min(1, 'needs at least one numeric field')
    .max(50)
    .refine((fields) => new Set(fields).size === fields.length, 'must not repeat a field'),
  groupBy: dotPath.optional(),
  percentiles: z.array(z.number().min(0).max(100)).max(20).default([50, 90, 99]),
});
export type AnalysisInput = z.output<typeof analysisInputSchema>;

export const PERCENTILE_METHOD = 'nearest-rank';
const MISSING_GROUP = '(missing)';
const ALL = '(all)';

export interface FieldStats {
  /** Numeric values found. */
  count: number;
  /** Records where the field is absent or not numeric. */
  missing: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Keyed `p50`, `p90`, `p99.9`, ...; null when there are no values. */
  percentiles: Record<string, number | null>;
}

export interface GroupStats {
  key: string;
  count: number;
  fields: Record<string, FieldStats>;
}

export interface AnalysisResult {
  table: { columns: string[]; rows: (string | number | null)[][] };
  groups: GroupStats[];
  overall: GroupStats;
  recordCount: number;
  groupBy: string | null;
  percentileMethod: typeof PERCENTILE_METHOD;
  notes: string[];
}

type Json = unknown;
type JsonRecord = Record<string, Json>;

const isRecord = (value: Json): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at a dot path; array indices are path segments too ("rows.0.value"). */
export function getPath(value: Json, path: string): Json {
  let current = value;
  for (const segment of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (isRecord(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** A finite number, or a string that is exactly one; undefined for anything else. */
export function numericValue(value: Json): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  // Unambiguous (a digit run is split one way only), so a long non-number fails in linear time.
  if (typeof value === 'string' && /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Nearest-rank percentile of ascending-sorted values. */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

const percentileKey = (p: number) => `p${p}`;

function fieldStats(values: number[], missing: number, percentiles: readonly number[]): FieldStats {
  const sorted = [...values].sort((a, b) => a - b);
  // Neumaier's compensated sum.
  let sum = 0;
  let compensation = 0;
  for (const v of values) {
    const t = sum + v;
    compensation += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  sum += compensation;
  const n = sorted.length;
  return {
    count: n,
    missing,
    sum,
    mean: n > 0 ? sum / n : null,
    min: sorted[0] ?? null,
    max: sorted[n - 1] ?? null,
    percentiles: Object.fromEntries(percentiles.map((p) => [percentileKey(p), nearestRank(sorted, p)])),
  };
}

function groupStats(key: string, records: readonly JsonRecord[], fields: readonly string[], percentiles: readonly number[]): GroupStats {
  const stats: Record<string, FieldStats> = {};
  for (const field of fields) {
    const values: number[] = [];
    for (const record of records) {
      const n = numericValue(getPath(record, field));
      if (n !== undefined) values.push(n);
    }
    stats[field] = fieldStats(values, records.length - values.length, percentiles);
  }
  return { key, count: records.length, fields: stats };
}

const groupKey = (value: Json): string => {
  if (value === undefined || value === null || value === '') return MISSING_GROUP;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
};

/** The records in one dependency result (see the module comment); undefined when `path` is absent from it. */
function recordsOf(result: Json, path: string | undefined): JsonRecord[] | undefined {
  if (path !== undefined) {
    const found = getPath(result, path);
    if (found === undefined) return undefined;
    if (Array.isArray(found)) return found.filter(isRecord);
    return isRecord(found) ? [found] : [];
  }
  if (Array.isArray(result)) return result.filter(isRecord);
  if (!isRecord(result)) return [];
  const nested = Object.values(result).filter((v): v is Json[] => Array.isArray(v) && v.some(isRecord));
  if (nested.length > 0) return nested.flatMap((array) => array.filter(isRecord));
  return [result];
}

/** Computes the statistics (pure: the agent's work without the context). */
export function analyse(input: AnalysisInput, dependencies: readonly { key: string; result: Json }[]): AnalysisResult {
  const notes: string[] = [];
  const records: JsonRecord[] = [];
  if (dependencies.length === 0) notes.push('This task has no dependencies, so there are no records to analyse.');
  for (const dependency of dependencies) {
    const found = recordsOf(dependency.result, input.path);
    if (found === undefined) notes.push(`Dependency "${dependency.key}" has nothing at path "${input.path}".`);
    else records.push(...found);
  }
  if (records.length === 0 && dependencies.length > 0) notes.push('No records were found in the dependencies\' results.');

  const percentiles = [...new Set(input.percentiles)].sort((a, b) => a - b);
  const overall = groupStats(ALL, records, input.fields, percentiles);
  for (const field of input.fields) {
    if (records.length > 0 && overall.fields[field]?.count === 0) notes.push(`Field "${field}" has no numeric values.`);
  }

  const groups: GroupStats[] = [];
  if (input.groupBy !== undefined) {
    const byKey = new Map<string, JsonRecord[]>();
    for (const record of records) {
      const key = groupKey(getPath(record, input.groupBy));
      const list = byKey.get(key);
      if (list) list.push(record);
      else byKey.set(key, [record]);
    }
    for (const [key, list] of byKey) groups.push(groupStats(key, list, input.fields, percentiles));
  }

  const columns = ['group', 'count'];
  for (const field of input.fields) {
    columns.push(`${field}.count`, `${field}.missing`, `${field}.sum`, `${field}.mean`, `${field}.min`, `${field}.max`);
    for (const p of percentiles) columns.push(`${field}.${percentileKey(p)}`);
  }
  const row = (g: GroupStats): (string | number | null)[] => {
    const cells: (string | number | null)[] = [g.key, g.count];
    for (const field of input.fields) {
      const s = g.fields[field];
      if (!s) continue;
      cells.push(s.count, s.missing, s.sum, s.mean, s.min, s.max);
      for (const p of percentiles) cells.push(s.percentiles[percentileKey(p)] ?? null);
    }
    return cells;
  };

  return {
    table: { columns, rows: [...groups.map(row), row(overall)] },
    groups,
    overall,
    recordCount: records.length,
    groupBy: input.groupBy ?? null,
    percentileMethod: PERCENTILE_METHOD,
    notes,
  };
}

export const analysisAgent: BuiltInAgent = () => ({
  inputSchema: analysisInputSchema,
  description: "Summarises numeric fields of its dependencies' results: count, sum, mean, min, max and percentiles, optionally grouped.",
  example: { path: 'sources', fields: ['bytes'], percentiles: [50, 90] },
  async run(ctx): Promise<AnalysisResult> {
    const parsed = analysisInputSchema.safeParse(ctx.task.input);
    if (!parsed.success) throw new NonRetryableError(`Invalid analysis input: ${z.prettifyError(parsed.error)}`);
    const result = analyse(parsed.data, ctx.dependencies);
    await ctx.progress({ stage: 'analysed', recordCount: result.recordCount, groups: result.groups.length });
    return result;
  },
});
