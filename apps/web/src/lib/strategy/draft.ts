import type { DagEdge, DagNode } from '../components/dag/layout.ts';
import { type DraftParameters, parametersOf, schemaOfParameters } from './parameters.ts';
import { isObject } from './schema-form.ts';
import type { AgentEntry, DefinitionItem, StrategyDefinition, StrategyDetail, StrategyItem } from './types.ts';

type Priority = NonNullable<DefinitionItem['priority']>;
type OnTaskFailure = NonNullable<StrategyDefinition['onTaskFailure']>;

/** Every priority, highest first (the compiler checks that none is missing). */
export const PRIORITY_OPTIONS = ['high', 'medium', 'low'] as const satisfies readonly Priority[];
const _allPriorities: Exclude<Priority, (typeof PRIORITY_OPTIONS)[number]> extends never ? true : never = true;
void _allPriorities;

/** One item as the form edits it: a stored item's fields (labels as plain text) and a stable id for keyed lists. */
export type DraftItem = Omit<StrategyItem, 'id' | 'l1' | 'l2' | 'l3'> & { uid: string; l1: string; l2: string; l3: string };

export interface Draft {
  name: string;
  description: string;
  onTaskFailure: OnTaskFailure;
  /** The inputSchema, as a list of parameters or as JSON. */
  parameters: DraftParameters;
  items: DraftItem[];
}

let uids = 0;
const uid = () => `item-${++uids}-${Math.random().toString(36).slice(2, 8)}`;
const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** A form's starting point from a stored strategy or an imported definition. */
export function draftOf(definition: StrategyDefinition | StrategyDetail): Draft {
  return {
    name: definition.name,
    description: definition.description ?? '',
    onTaskFailure: definition.onTaskFailure ?? 'fail',
    parameters: parametersOf(definition.inputSchema),
    items: definition.items.map((item) => ({
      uid: uid(),
      key: item.key,
      description: item.description,
      agentType: item.agentType,
      priority: item.priority ?? 'medium',
      dependsOn: [...(item.dependsOn ?? [])],
      input: clone(item.input ?? {}),
      maxRetries: item.maxRetries ?? 3,
      timeoutSeconds: item.timeoutSeconds ?? 300,
      l1: item.l1 ?? '',
      l2: item.l2 ?? '',
      l3: item.l3 ?? '',
    })),
  };
}

export const emptyDraft = (): Draft => ({ name: '', description: '', onTaskFailure: 'fail', parameters: parametersOf(null), items: [] });

/** A new item with a key no other item has, its input the agent's example (a working start). */
export function newItem(draft: Draft, agent: AgentEntry | undefined, after?: DraftItem): DraftItem {
  const keys = new Set(draft.items.map((item) => item.key));
  let n = draft.items.length + 1;
  while (keys.has(`item-${n}`)) n += 1;
  return {
    uid: uid(),
    key: `item-${n}`,
    description: '',
    agentType: agent?.type ?? '',
    priority: 'medium',
    dependsOn: [],
    input: clone(agent?.example ?? {}),
    maxRetries: 3,
    timeoutSeconds: 300,
    l1: after?.l1 ?? '',
    l2: after?.l2 ?? '',
    l3: after?.l3 ?? '',
  };
}

/** Renames an item's key and every dependency naming it. */
export function renameKey(draft: Draft, item: DraftItem, key: string): void {
  const old = item.key;
  item.key = key;
  if (!old) return;
  for (const other of draft.items) {
    if (other !== item) other.dependsOn = other.dependsOn.map((dep) => (dep === old ? key : dep));
  }
}

/** Removes an item and the dependencies on it. */
export function removeItem(draft: Draft, item: DraftItem): void {
  draft.items = draft.items.filter((other) => other !== item);
  for (const other of draft.items) other.dependsOn = other.dependsOn.filter((dep) => dep !== item.key);
}

/** Moves an item one place up (-1) or down (+1) in the written order. */
export function moveItem(draft: Draft, item: DraftItem, by: -1 | 1): void {
  const from = draft.items.indexOf(item);
  const to = from + by;
  if (from < 0 || to < 0 || to >= draft.items.length) return;
  const items = [...draft.items];
  items.splice(from, 1);
  items.splice(to, 0, item);
  draft.items = items;
}

const text = (value: string) => value.trim();
const optional = (value: string) => (value.trim() ? value.trim() : undefined);

/**
 * What the API takes: the draft without form-only fields, blank labels left out, and the
 * inputSchema its parameters write (none when there are none; the form checks the parameters
 * with schemaOfParameters before saving).
 */
export function definitionOf(draft: Draft): StrategyDefinition {
  const parameters = schemaOfParameters(draft.parameters);
  return {
    name: text(draft.name),
    ...(optional(draft.description) ? { description: optional(draft.description) } : {}),
    onTaskFailure: draft.onTaskFailure,
    ...(parameters.ok && parameters.schema ? { inputSchema: parameters.schema } : {}),
    items: draft.items.map((item) => {
      const labels = { l1: optional(item.l1), l2: optional(item.l2), l3: optional(item.l3) };
      return {
        key: text(item.key),
        description: text(item.description),
        agentType: item.agentType,
        priority: item.priority,
        dependsOn: item.dependsOn,
        input: item.input,
        maxRetries: item.maxRetries,
        timeoutSeconds: item.timeoutSeconds,
        ...Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== undefined)),
      };
    }),
  };
}

/** A stored strategy's definition, as export writes it and import reads it back. */
export function definitionOfStrategy(strategy: StrategyDetail): StrategyDefinition {
  return definitionOf(draftOf(strategy));
}

export function exportJson(strategy: StrategyDetail): string {
  return `${JSON.stringify(definitionOfStrategy(strategy), null, 2)}\n`;
}

export function exportFileName(strategy: StrategyDetail): string {
  const slug = strategy.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'strategy';
  return `${slug}.v${strategy.version}.json`;
}

/** A duplicate's definition: the same parameters and items under a new name. */
export function duplicateOf(strategy: StrategyDetail): StrategyDefinition {
  return { ...definitionOfStrategy(strategy), name: `Copy of ${strategy.name}`.slice(0, 200) };
}

/**
 * Reads an exported file back into a form. Only the outline is checked here (a JSON object with
 * a name and a list of items); the server judges the rest when the form is saved, and its
 * errors are shown beside the fields they name.
 */
export function parseImport(json: string): { ok: true; draft: Draft } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${(error as Error).message}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'Expected a JSON object with "name" and "items"' };
  const { name, description, onTaskFailure, inputSchema, items } = value as Record<string, unknown>;
  if (!Array.isArray(items)) return { ok: false, error: '"items" must be a list' };
  if (inputSchema != null && !isObject(inputSchema)) return { ok: false, error: '"inputSchema" must be a JSON Schema object' };
  const bad = items.findIndex((item) => !item || typeof item !== 'object' || Array.isArray(item));
  if (bad >= 0) return { ok: false, error: `Item #${bad + 1} is not an object` };
  const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v));
  return {
    ok: true,
    draft: draftOf({
      name: str(name),
      description: str(description),
      onTaskFailure: onTaskFailure === 'continue' ? 'continue' : 'fail',
      inputSchema: inputSchema ?? null,
      items: (items as Record<string, unknown>[]).map((item) => ({
        key: str(item.key),
        description: str(item.description),
        agentType: str(item.agentType),
        priority: PRIORITY_OPTIONS.includes(item.priority as Priority) ? (item.priority as Priority) : 'medium',
        dependsOn: Array.isArray(item.dependsOn) ? item.dependsOn.map(str) : [],
        input: item.input && typeof item.input === 'object' && !Array.isArray(item.input) ? (item.input as Record<string, unknown>) : {},
        maxRetries: typeof item.maxRetries === 'number' ? item.maxRetries : 3,
        timeoutSeconds: typeof item.timeoutSeconds === 'number' ? item.timeoutSeconds : 300,
        l1: str(item.l1),
        l2: str(item.l2),
        l3: str(item.l3),
      })),
    }),
  };
}

export interface LevelGroup<T> {
  label: string | null;
  children: T[];
}

/** The strategy's levels: L1 objectives → L2 → L3 → the L4 items, in the order written. */
export function levelTree<I extends { l1: string | null; l2: string | null; l3: string | null }>(items: readonly I[]): LevelGroup<LevelGroup<LevelGroup<I>>>[] {
  const group = <T>(list: LevelGroup<T>[], label: string | null) => {
    let found = list.find((g) => g.label === label);
    if (!found) {
      found = { label, children: [] };
      list.push(found);
    }
    return found.children;
  };
  const tree: LevelGroup<LevelGroup<LevelGroup<I>>>[] = [];
  for (const item of items) group(group(group(tree, item.l1 || null), item.l2 || null), item.l3 || null).push(item);
  return tree;
}

/** The dependency graph of a strategy's items, for the Dag component. */
export function graphOf(items: readonly { key: string; description: string; agentType: string; priority?: string; dependsOn?: readonly string[] }[]): { nodes: DagNode[]; edges: DagEdge[] } {
  return {
    nodes: items.map((item) => ({ id: item.key, label: item.description || item.key, sublabel: `${item.key} · ${item.agentType}${item.priority ? ` · ${item.priority}` : ''}` })),
    edges: items.flatMap((item) => (item.dependsOn ?? []).map((dep) => ({ from: dep, to: item.key }))),
  };
}
