import { type ParameterSummary, parameterSummaries } from './parameters.ts';
import { isObject } from './schema-form.ts';
import type { StrategyDetail, StrategyItem } from './types.ts';

export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

export interface VersionDiff {
  /** The strategy's own fields that changed. */
  fields: FieldChange[];
  added: StrategyItem[];
  removed: StrategyItem[];
  /** Items under the same key whose fields changed. */
  changed: { key: string; changes: FieldChange[] }[];
  /** The inputSchema's parameters added, removed and changed (by name), and its other keywords that changed. */
  parameters: {
    added: ParameterSummary[];
    removed: ParameterSummary[];
    changed: { name: string; changes: FieldChange[] }[];
    schema: FieldChange[];
  };
}

const ITEM_FIELDS = ['description', 'agentType', 'priority', 'dependsOn', 'input', 'maxRetries', 'timeoutSeconds', 'l1', 'l2', 'l3'] as const;
const show = (value: unknown): string => (value === null || value === undefined || value === '' ? '—' : Array.isArray(value) ? value.join(', ') || '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));

function changes<T extends object>(before: T, after: T, fields: readonly (keyof T & string)[]): FieldChange[] {
  return fields.flatMap((field) => {
    const a = show(before[field]);
    const b = show(after[field]);
    return a === b ? [] : [{ field, before: a, after: b }];
  });
}

/** A parameter's fields as the diff compares them: its type, required, description, default, then any other keyword. */
function parameterFields(parameter: ParameterSummary): Record<string, unknown> {
  return { type: parameter.type, required: parameter.required ? 'yes' : 'no', description: parameter.description, default: parameter.default, ...parameter.more };
}

/** How two versions' inputSchemas differ: parameters by name, and the schema's other keywords (`additionalProperties`...). */
export function diffParameters(older: Record<string, unknown> | null, newer: Record<string, unknown> | null): VersionDiff['parameters'] {
  const before = new Map(parameterSummaries(older).map((p) => [p.name, p]));
  const after = new Map(parameterSummaries(newer).map((p) => [p.name, p]));
  const rest = (schema: Record<string, unknown> | null) => {
    if (!schema) return {};
    const { properties: _p, required: _r, ...others } = schema;
    // Properties that are not schemas have no parameter to show: compare them with the rest.
    return isObject(schema.properties) ? others : { ...others, properties: schema.properties };
  };
  const a = rest(older);
  const b = rest(newer);
  return {
    added: [...after.values()].filter((p) => !before.has(p.name)),
    removed: [...before.values()].filter((p) => !after.has(p.name)),
    changed: [...after.values()].flatMap((p) => {
      const old = before.get(p.name);
      if (!old) return [];
      const x = parameterFields(old);
      const y = parameterFields(p);
      const found = changes(x, y, [...new Set([...Object.keys(x), ...Object.keys(y)])]);
      return found.length ? [{ name: p.name, changes: found }] : [];
    }),
    schema: older === null || newer === null ? (older === newer ? [] : [{ field: 'inputSchema', before: older ? 'declared' : 'none', after: newer ? 'declared' : 'none' }]) : changes(a, b, [...new Set([...Object.keys(a), ...Object.keys(b)])]),
  };
}

/** What changed from one version of a strategy to another: its fields, and its items matched by key. */
export function diffVersions(older: StrategyDetail, newer: StrategyDetail): VersionDiff {
  const before = new Map(older.items.map((item) => [item.key, item]));
  const after = new Map(newer.items.map((item) => [item.key, item]));
  return {
    fields: changes(older, newer, ['name', 'description', 'onTaskFailure']),
    added: newer.items.filter((item) => !before.has(item.key)),
    removed: older.items.filter((item) => !after.has(item.key)),
    changed: newer.items.flatMap((item) => {
      const old = before.get(item.key);
      const found = old ? changes(old, item, ITEM_FIELDS) : [];
      return found.length ? [{ key: item.key, changes: found }] : [];
    }),
    parameters: diffParameters(older.inputSchema, newer.inputSchema),
  };
}
