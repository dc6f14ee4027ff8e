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
  };
}
