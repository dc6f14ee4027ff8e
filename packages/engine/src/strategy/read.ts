import { strategies, strategyItems, strategyVersions, type Db, type OnTaskFailure, type Priority } from '@strata/db';
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import { notFound } from '../errors.ts';
import type { Executor } from '../tx.ts';

export interface StrategyItemView {
  id: string;
  key: string;
  description: string;
  agentType: string;
  priority: Priority;
  dependsOn: string[];
  input: Record<string, unknown>;
  maxRetries: number;
  timeoutSeconds: number;
  l1: string | null;
  l2: string | null;
  l3: string | null;
  /** Its tasks' shared limit key (a template over the input), with the key's limits; null when none. */
  concurrencyKey: string | null;
  keyConcurrency: number | null;
  keyPerMinute: number | null;
}

/** A strategy as one of its versions defines it (the latest unless asked for another). */
export interface StrategyView {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  onTaskFailure: OnTaskFailure;
  createdAt: Date;
  /** The version shown here. */
  version: number;
  /** The strategy's latest version. */
  latestVersion: number;
  /** When this version was written. */
  versionCreatedAt: Date;
  archivedAt: Date | null;
  /** JSON Schema of an execution's `input` in this version; null: it takes none. */
  inputSchema: Record<string, unknown> | null;
  /** At most this many tasks of one execution in progress at once; null: no cap. */
  maxConcurrency: number | null;
  items: StrategyItemView[];
}

export interface StrategyVersionSummary {
  version: number;
  name: string;
  description: string | null;
  onTaskFailure: OnTaskFailure;
  itemCount: number;
  inputSchema: Record<string, unknown> | null;
  maxConcurrency: number | null;
  createdBy: string | null;
  createdAt: Date;
}

/** What start, the API's access checks and edits need to know about a strategy. */
export async function findStrategy(
  db: Executor,
  id: string,
): Promise<{ id: string; workspaceId: string; onTaskFailure: OnTaskFailure; version: number; archivedAt: Date | null } | undefined> {
  const [row] = await db
    .select({ id: strategies.id, workspaceId: strategies.workspaceId, onTaskFailure: strategies.onTaskFailure, version: strategies.version, archivedAt: strategies.archivedAt })
    .from(strategies)
    .where(eq(strategies.id, id));
  return row;
}

/** One version of a strategy (the latest when `version` is not given), with its items in the order they were written. */
export async function getStrategy(db: Db, id: string, version?: number): Promise<StrategyView> {
  const [strategy] = await db.select().from(strategies).where(eq(strategies.id, id));
  if (!strategy) throw notFound(`Strategy not found: ${id}`);
  const wanted = version ?? strategy.version;
  const [definition] = await db
    .select()
    .from(strategyVersions)
    .where(and(eq(strategyVersions.strategyId, id), eq(strategyVersions.version, wanted)));
  if (!definition) throw notFound(`Strategy ${id} has no version ${wanted}`);
  const rows = await db
    .select()
    .from(strategyItems)
    .where(and(eq(strategyItems.strategyId, id), eq(strategyItems.version, wanted)))
    .orderBy(asc(strategyItems.level), asc(strategyItems.position));
  const byId = new Map(rows.map((row) => [row.id, row]));
  const labelsOf = (parentId: string | null) => {
    const out: Record<1 | 2 | 3, string | null> = { 1: null, 2: null, 3: null };
    let current = parentId ? byId.get(parentId) : undefined;
    while (current) {
      out[current.level as 1 | 2 | 3] = current.title;
      current = current.parentId ? byId.get(current.parentId) : undefined;
    }
    return out;
  };
  return {
    id: strategy.id,
    workspaceId: strategy.workspaceId,
    name: definition.name,
    description: definition.description,
    onTaskFailure: definition.onTaskFailure,
    createdAt: strategy.createdAt,
    version: wanted,
    latestVersion: strategy.version,
    versionCreatedAt: definition.createdAt,
    archivedAt: strategy.archivedAt,
    inputSchema: definition.inputSchema ?? null,
    maxConcurrency: definition.maxConcurrency ?? null,
    items: rows
      .filter((row) => row.level === 4)
      .map((row) => {
        const labels = labelsOf(row.parentId);
        return {
          id: row.id,
          key: row.key!,
          description: row.title,
          agentType: row.agentType!,
          priority: row.priority!,
          dependsOn: row.dependsOn,
          input: row.input ?? {},
          maxRetries: row.maxRetries!,
          timeoutSeconds: row.timeoutSeconds!,
          l1: labels[1],
          l2: labels[2],
          l3: labels[3],
          concurrencyKey: row.concurrencyKey,
          keyConcurrency: row.keyConcurrency,
          keyPerMinute: row.keyPerMinute,
        };
      }),
  };
}

/** Every version of a strategy, newest first. */
export async function listStrategyVersions(db: Db, id: string): Promise<StrategyVersionSummary[]> {
  return db
    .select({
      version: strategyVersions.version,
      name: strategyVersions.name,
      description: strategyVersions.description,
      onTaskFailure: strategyVersions.onTaskFailure,
      itemCount: strategyVersions.itemCount,
      inputSchema: strategyVersions.inputSchema,
      maxConcurrency: strategyVersions.maxConcurrency,
      createdBy: strategyVersions.createdBy,
      createdAt: strategyVersions.createdAt,
    })
    .from(strategyVersions)
    .where(eq(strategyVersions.strategyId, id))
    .orderBy(desc(strategyVersions.version));
}

/** A workspace's strategies that are not archived, newest first, each as its latest version says. */
export async function listStrategies(db: Db, workspaceId: string) {
  return db
    .select({
      id: strategies.id,
      workspaceId: strategies.workspaceId,
      name: strategies.name,
      description: strategies.description,
      onTaskFailure: strategies.onTaskFailure,
      createdAt: strategies.createdAt,
      version: strategies.version,
      itemCount: strategyVersions.itemCount,
      updatedAt: strategyVersions.createdAt,
      /** The latest version's: the dashboard asks for parameters before starting one that declares them. */
      inputSchema: strategyVersions.inputSchema,
    })
    .from(strategies)
    .innerJoin(strategyVersions, and(eq(strategyVersions.strategyId, strategies.id), eq(strategyVersions.version, strategies.version)))
    .where(and(eq(strategies.workspaceId, workspaceId), isNull(strategies.archivedAt)))
    .orderBy(desc(strategies.createdAt), desc(strategies.id));
}
