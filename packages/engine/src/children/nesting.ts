import { sql } from 'drizzle-orm';
import { conflict, validationError } from '../errors.ts';
import { checkExecutionInput } from '../strategy/input-schema.ts';
import type { Executor, Tx } from '../tx.ts';
import { issuePath } from '../zod-error.ts';
import { childRequestSchema } from './request.ts';

/** The agent type whose items run another strategy as a child execution. */
export const STRATEGY_AGENT_TYPE = 'strategy';

/** How deep children may nest when STRATEGY_MAX_DEPTH is not set: a top-level execution is depth 0, its children 1. */
export const DEFAULT_STRATEGY_MAX_DEPTH = 5;

/** Strategy references a cycle check follows before it gives up (a pathological graph, not a real workspace). */
const MAX_EXPANSIONS = 5000;

/** One `strategy` item of a strategy version: the strategy it runs, pinned to a version or the latest. */
export type Hop = { key: string; strategyId: string; version: number | undefined };

/** The strategies of a workspace and the `strategy` items of each of their versions. */
export interface NestingGraph {
  strategies: Map<string, { version: number; archived: boolean; inputSchema: Record<string, unknown> | null }>;
  /** By `strategyId@version`; only versions with `strategy` items are present. */
  hops: Map<string, Hop[]>;
}

/** The hop an item makes, or undefined when it is not a `strategy` item or its input names no strategy. */
export function hopOf(item: { key: string; agentType: string; input: unknown }): Hop | undefined {
  if (item.agentType !== STRATEGY_AGENT_TYPE) return undefined;
  const parsed = childRequestSchema.safeParse(item.input ?? {});
  return parsed.success ? { key: item.key, strategyId: parsed.data.strategyId, version: parsed.data.version } : undefined;
}

/** Two reads: every strategy of the workspace, and every `strategy` item of any of their versions. */
export async function loadNestingGraph(db: Executor, workspaceId: string): Promise<NestingGraph> {
  const rows = await db.execute<{ id: string; version: number; archived: boolean; inputSchema: Record<string, unknown> | null }>(sql`
    select id, version, archived_at is not null as archived, input_schema as "inputSchema" from strategies where workspace_id = ${workspaceId}`);
  const items = await db.execute<{ strategyId: string; version: number; key: string; input: unknown }>(sql`
    select i.strategy_id as "strategyId", i.version, i.key, i.input from strategy_items i join strategies s on s.id = i.strategy_id
    where s.workspace_id = ${workspaceId} and i.level = 4 and i.agent_type = ${STRATEGY_AGENT_TYPE}
    order by i.strategy_id, i.version, i.position`);
  const hops = new Map<string, Hop[]>();
  for (const item of items) {
    const hop = hopOf({ key: item.key, agentType: STRATEGY_AGENT_TYPE, input: item.input });
    if (!hop) continue;
    const node = `${item.strategyId}@${item.version}`;
    hops.set(node, [...(hops.get(node) ?? []), hop]);
  }
  return { strategies: new Map(rows.map((r) => [r.id, { version: r.version, archived: r.archived, inputSchema: r.inputSchema }])), hops };
}

/** A cycle as found: the strategies along it, the first repeated at the end, and the root's item it starts through. */
export type StrategyCycle = { path: string[]; item: string };

export const describeCycle = (path: readonly string[]) => `strategy cycle ${path.join(' → ')}`;

/**
 * Follows `hops` (the root's `strategy` items) down through the strategies they run, each at its
 * pinned version or the latest, and answers the first path that comes back to a strategy
 * already on it (`above`: the strategies running the root, outermost first, then the root).
 * A strategy that does not exist or is archived ends its path: it cannot run, and is refused
 * where it is named. Strategies fully explored are remembered with every strategy they reach,
 * so a diamond is walked once unless that set meets the current path.
 */
export function findStrategyCycle(graph: NestingGraph, hops: readonly Hop[], above: readonly string[]): StrategyCycle | undefined {
  const path = [...above];
  const reach = new Map<string, Set<string>>();
  let expansions = 0;
  const walk = (hop: Hop): string[] | Set<string> => {
    const at = path.indexOf(hop.strategyId);
    if (at >= 0) return [...path.slice(at), hop.strategyId];
    const strategy = graph.strategies.get(hop.strategyId);
    if (!strategy || strategy.archived) return new Set();
    const node = `${hop.strategyId}@${hop.version ?? strategy.version}`;
    const known = reach.get(node);
    if (known && !path.some((id) => known.has(id))) return known;
    if (++expansions > MAX_EXPANSIONS) throw validationError(`Too many nested strategy references to check (over ${MAX_EXPANSIONS})`);
    const reached = new Set([hop.strategyId]);
    path.push(hop.strategyId);
    for (const next of graph.hops.get(node) ?? []) {
      const found = walk(next);
      if (Array.isArray(found)) return found;
      for (const id of found) reached.add(id);
    }
    path.pop();
    reach.set(node, reached);
    return reached;
  };
  for (const hop of hops) {
    const found = walk(hop);
    if (Array.isArray(found)) return { path: found, item: hop.key };
  }
  return undefined;
}

/** The first key of the advisory lock that serialises saves of strategies with `strategy` items in one workspace. */
const NESTING_LOCK_CLASS = 0x5f42;

/**
 * The save-time checks of a definition's `strategy` items, in the saving transaction: each runs a
 * strategy of this workspace (not archived; a pinned version that exists) with parameters its
 * inputSchema accepts, and no item makes the strategy run itself, directly or through others.
 * Saves that hold such items take one lock per workspace, so two edits cannot each pass the check
 * against the other's old version and close a cycle between them. Refusals are VALIDATION errors
 * naming the field (`items[2].input.strategyId`).
 */
export async function checkStrategyItems(
  tx: Tx,
  workspaceId: string,
  strategyId: string,
  items: readonly { key: string; agentType: string; input: Record<string, unknown> }[],
): Promise<void> {
  const nested = items.flatMap((item, index) => (item.agentType === STRATEGY_AGENT_TYPE ? [{ item, index }] : []));
  if (nested.length === 0) return;
  await tx.execute(sql`select pg_advisory_xact_lock(${NESTING_LOCK_CLASS}, hashtext(${workspaceId}))`);
  const graph = await loadNestingGraph(tx, workspaceId);
  const hops: Hop[] = [];
  for (const { item, index } of nested) {
    const refuse = (field: readonly PropertyKey[], message: string) =>
      // Worded as the agents' own input checks are (strategy/store.ts): `Item "sub": input strategyId: …`.
      validationError(`Item "${item.key}": input ${field.length ? `${issuePath(field)}: ` : ''}${message}`, { item: item.key, index, path: issuePath(['items', index, 'input', ...field]) });
    const parsed = childRequestSchema.safeParse(item.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw refuse(issue?.path ?? [], issue?.message ?? 'is invalid');
    }
    const request = parsed.data;
    const target = request.strategyId === strategyId ? undefined : graph.strategies.get(request.strategyId);
    if (request.strategyId !== strategyId) {
      if (!target) throw refuse(['strategyId'], `no strategy ${request.strategyId} in this workspace`);
      if (target.archived) throw refuse(['strategyId'], `strategy ${request.strategyId} is archived`);
      if (request.version !== undefined && request.version > target.version) throw refuse(['version'], `strategy ${request.strategyId} has no version ${request.version}`);
      const schema = request.version === undefined ? target.inputSchema : await versionSchema(tx, request.strategyId, request.version);
      try {
        checkExecutionInput(schema, request.input ?? {});
      } catch (error) {
        const path = (error as { details?: { path?: unknown } }).details?.path;
        throw validationError(`Item "${item.key}": input ${(error as Error).message}`, {
          item: item.key,
          index,
          path: `items[${index}].input.${typeof path === 'string' ? path : 'input'}`,
        });
      }
    }
    hops.push({ key: item.key, strategyId: request.strategyId, version: request.version });
  }
  const cycle = findStrategyCycle(graph, hops, [strategyId]);
  if (cycle) {
    const index = items.findIndex((item) => item.key === cycle.item);
    throw validationError(`Item "${cycle.item}": ${describeCycle(cycle.path)}`, { item: cycle.item, index, cycle: cycle.path, path: `items[${index}].input.strategyId` });
  }
}

async function versionSchema(db: Executor, strategyId: string, version: number): Promise<Record<string, unknown> | null> {
  const [row] = await db.execute<{ inputSchema: Record<string, unknown> | null }>(sql`
    select input_schema as "inputSchema" from strategy_versions where strategy_id = ${strategyId} and version = ${version}`);
  return row?.inputSchema ?? null;
}

/**
 * The start-time check of a strategy version's `strategy` items (`above`: the strategies of the
 * executions that would run it, outermost first): a cycle present in the stored definitions
 * (written past the save check) is a CONFLICT naming it.
 */
export async function refuseStrategyCycle(
  db: Executor,
  workspaceId: string,
  strategyId: string,
  items: readonly { key: string; agentType: string; input: unknown }[],
  above: readonly string[],
): Promise<void> {
  const at = above.indexOf(strategyId);
  if (at >= 0) {
    const path = [...above.slice(at), strategyId];
    throw conflict(`Cannot start ${strategyId}: ${describeCycle(path)}`, { cycle: path });
  }
  const hops = items.map(hopOf).filter((hop): hop is Hop => hop !== undefined);
  if (hops.length === 0) return;
  const cycle = findStrategyCycle(await loadNestingGraph(db, workspaceId), hops, [...above, strategyId]);
  if (cycle) throw conflict(`Cannot start ${strategyId}: ${describeCycle(cycle.path)} (through item "${cycle.item}")`, { cycle: cycle.path });
}
