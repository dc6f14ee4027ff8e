import { strategies, strategyItems, type Db, newId } from '@strata/db';
import { and, asc, desc, eq } from 'drizzle-orm';
import { notFound, validationError } from '../errors.ts';
import { fromZodError } from '../zod-error.ts';
import { strategyInputSchema, type StrategyInput } from './schema.ts';
import { validateItems } from './validate.ts';

const INSERT_CHUNK = 1000;

export interface StrategyItemView {
  id: string;
  key: string;
  description: string;
  agentType: string;
  priority: string;
  dependsOn: string[];
  input: Record<string, unknown>;
  maxRetries: number;
  timeoutSeconds: number;
  l1: string | null;
  l2: string | null;
  l3: string | null;
}

export interface StrategyView {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  onTaskFailure: 'fail' | 'continue';
  createdAt: Date;
  items: StrategyItemView[];
}

/** Extra checks per item beyond the structure (e.g. an agent's own input schema). */
export type ItemInputCheck = (agentType: string, input: Record<string, unknown>) => string | undefined;

/**
 * Validates and stores a strategy with its tree: L1–L3 labels become grouping rows, L4 items
 * the executable ones. All or nothing.
 */
export async function createStrategy(db: Db, raw: StrategyInput, options: { createdBy?: string; checkInput?: ItemInputCheck } = {}): Promise<StrategyView> {
  const parsed = strategyInputSchema.safeParse(raw);
  if (!parsed.success) {
    throw fromZodError(parsed.error, (path) => {
      if (path[0] !== 'items' || typeof path[1] !== 'number') return undefined;
      const rawItems = (raw as { items?: unknown }).items;
      const item = Array.isArray(rawItems) ? (rawItems[path[1]] as { key?: unknown } | undefined) : undefined;
      const name = typeof item?.key === 'string' && item.key ? `Item "${item.key}"` : `Item #${path[1] + 1}`;
      return path.length > 2 ? `${name}: ${path.slice(2).join('.')}` : name;
    });
  }
  const input = parsed.data;
  validateItems(input.items);
  if (options.checkInput) {
    for (const item of input.items) {
      const problem = options.checkInput(item.agentType, item.input);
      if (problem) throw validationError(`Item "${item.key}": input ${problem}`, { item: item.key });
    }
  }

  const strategyId = newId('strat');
  await db.transaction(async (tx) => {
    await tx.insert(strategies).values({
      id: strategyId,
      workspaceId: input.workspaceId,
      name: input.name,
      description: input.description ?? null,
      onTaskFailure: input.onTaskFailure,
      createdBy: options.createdBy ?? null,
    });
    const labels = new Map<string, string>();
    const rows: (typeof strategyItems.$inferInsert)[] = [];
    const labelRow = (level: 1 | 2 | 3, name: string, path: string, parentId: string | null) => {
      const id = labels.get(path);
      if (id) return id;
      const created = newId('item');
      labels.set(path, created);
      rows.push({ id: created, strategyId, parentId, level, title: name, position: labels.size });
      return created;
    };
    input.items.forEach((item, position) => {
      let parentId: string | null = null;
      let path = '';
      for (const [level, name] of [
        [1, item.l1],
        [2, item.l2],
        [3, item.l3],
      ] as const) {
        if (!name) continue;
        path += `\u0000${level}:${name}`;
        parentId = labelRow(level, name, path, parentId);
      }
      rows.push({
        id: newId('l4'),
        strategyId,
        parentId,
        level: 4,
        key: item.key,
        title: item.description,
        agentType: item.agentType as (typeof strategyItems.$inferInsert)['agentType'],
        priority: item.priority,
        dependsOn: item.dependsOn,
        input: item.input,
        maxRetries: item.maxRetries,
        timeoutSeconds: item.timeoutSeconds,
        position,
      });
    });
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await tx.insert(strategyItems).values(rows.slice(i, i + INSERT_CHUNK));
    }
  });
  return getStrategy(db, strategyId);
}

export async function findStrategy(db: Db, id: string): Promise<{ id: string; workspaceId: string; onTaskFailure: 'fail' | 'continue' } | undefined> {
  const [row] = await db
    .select({ id: strategies.id, workspaceId: strategies.workspaceId, onTaskFailure: strategies.onTaskFailure })
    .from(strategies)
    .where(eq(strategies.id, id));
  return row;
}

export async function getStrategy(db: Db, id: string): Promise<StrategyView> {
  const [strategy] = await db.select().from(strategies).where(eq(strategies.id, id));
  if (!strategy) throw notFound(`Strategy not found: ${id}`);
  const rows = await db.select().from(strategyItems).where(eq(strategyItems.strategyId, id)).orderBy(asc(strategyItems.level), asc(strategyItems.position));
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
    name: strategy.name,
    description: strategy.description,
    onTaskFailure: strategy.onTaskFailure,
    createdAt: strategy.createdAt,
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
        };
      }),
  };
}

export async function listStrategies(db: Db, workspaceId: string) {
  return db
    .select({
      id: strategies.id,
      workspaceId: strategies.workspaceId,
      name: strategies.name,
      description: strategies.description,
      onTaskFailure: strategies.onTaskFailure,
      createdAt: strategies.createdAt,
    })
    .from(strategies)
    .where(and(eq(strategies.workspaceId, workspaceId)))
    .orderBy(desc(strategies.createdAt), desc(strategies.id));
}
