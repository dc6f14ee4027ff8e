import { strategies, strategyItems, strategyVersions, type Db, newId } from '@strata/db';
import { eq, sql } from 'drizzle-orm';
import type { InputIssue } from '../agent.ts';
import { conflict, notFound, validationError } from '../errors.ts';
import { checkStrategyItems } from '../children/nesting.ts';
import { hookPoint } from '../hooks.ts';
import { transaction, type Tx } from '../tx.ts';
import { fromZodError, issuePath } from '../zod-error.ts';
import { getStrategy, type StrategyView } from './read.ts';
import { type StrategyDefinition, strategyDefinitionSchema, type StrategyDefinitionInput, strategyInputSchema, type StrategyInput } from './schema.ts';
import { checkInputSchema } from './input-schema.ts';
import { validateItems } from './validate.ts';

const INSERT_CHUNK = 1000;

/** Extra checks per item beyond the structure (an agent's own input schema): a message, or the issue with its path in the input. */
export type ItemInputCheck = (agentType: string, input: Record<string, unknown>) => string | InputIssue | undefined;

export interface WriteOptions {
  createdBy?: string;
  checkInput?: ItemInputCheck;
}

/** Names a zod issue's item the way people wrote it: `Item "send-mail": input.to`. */
function describeItemPath(raw: unknown) {
  return (path: readonly PropertyKey[]) => {
    if (path[0] !== 'items' || typeof path[1] !== 'number') return undefined;
    const rawItems = (raw as { items?: unknown } | null)?.items;
    const item = Array.isArray(rawItems) ? (rawItems[path[1]] as { key?: unknown } | undefined) : undefined;
    const name = typeof item?.key === 'string' && item.key ? `Item "${item.key}"` : `Item #${path[1] + 1}`;
    return path.length > 2 ? `${name}: ${path.slice(2).join('.')}` : name;
  };
}

/**
 * Every check a definition passes before anything is written, the same at creation and at an
 * edit: the structure (zod), the items' graph, each input against its agent's schema. Each
 * refusal is a VALIDATION error whose `details.path` names the field (`items[3].input.to`).
 */
function checkDefinition(definition: StrategyDefinition, checkInput: ItemInputCheck | undefined): void {
  if (definition.inputSchema) checkInputSchema(definition.inputSchema);
  validateItems(definition.items);
  if (!checkInput) return;
  for (const [index, item] of definition.items.entries()) {
    const problem = checkInput(item.agentType, item.input);
    if (!problem) continue;
    const issue = typeof problem === 'string' ? { path: [], message: problem } : problem;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw validationError(`Item "${item.key}": input ${where}${issue.message}`, { item: item.key, index, path: issuePath(['items', index, 'input', ...issue.path]) });
  }
}

/** Writes a version's items: L1–L3 labels become grouping rows, L4 items the executable ones. */
async function insertItems(tx: Tx, strategyId: string, version: number, items: StrategyDefinition['items']): Promise<void> {
  const labels = new Map<string, string>();
  const rows: (typeof strategyItems.$inferInsert)[] = [];
  const labelRow = (level: 1 | 2 | 3, name: string, path: string, parentId: string | null) => {
    const id = labels.get(path);
    if (id) return id;
    const created = newId('item');
    labels.set(path, created);
    rows.push({ id: created, strategyId, version, parentId, level, title: name, position: labels.size });
    return created;
  };
  items.forEach((item, position) => {
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
      version,
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
      concurrencyKey: item.concurrencyKey ?? null,
      keyConcurrency: item.keyConcurrency ?? null,
      keyPerMinute: item.keyPerMinute ?? null,
    });
  });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await tx.insert(strategyItems).values(rows.slice(i, i + INSERT_CHUNK));
  }
}

async function insertVersion(tx: Tx, strategyId: string, version: number, definition: StrategyDefinition, createdBy: string | undefined): Promise<void> {
  await tx.insert(strategyVersions).values({
    strategyId,
    version,
    name: definition.name,
    description: definition.description ?? null,
    onTaskFailure: definition.onTaskFailure,
    itemCount: definition.items.length,
    inputSchema: definition.inputSchema ?? null,
    maxConcurrency: definition.maxConcurrency ?? null,
    createdBy: createdBy ?? null,
  });
  await insertItems(tx, strategyId, version, definition.items);
}

/**
 * Validates and stores a new strategy as its version 1. All or nothing. Its `strategy` items are
 * checked against the workspace's strategies in the same transaction (children/nesting.ts).
 */
export async function createStrategy(db: Db, raw: StrategyInput, options: WriteOptions = {}): Promise<StrategyView> {
  const parsed = strategyInputSchema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, describeItemPath(raw));
  const input = parsed.data;
  checkDefinition(input, options.checkInput);
  const strategyId = newId('strat');
  await transaction(db, async (tx) => {
    await checkStrategyItems(tx, input.workspaceId, strategyId, input.items);
    await hookPoint('strategy:save-checked', { strategyId });
    await tx.insert(strategies).values({
      id: strategyId,
      workspaceId: input.workspaceId,
      name: input.name,
      description: input.description ?? null,
      onTaskFailure: input.onTaskFailure,
      inputSchema: input.inputSchema ?? null,
      createdBy: options.createdBy ?? null,
      version: 1,
    });
    await insertVersion(tx, strategyId, 1, input, options.createdBy);
  });
  return getStrategy(db, strategyId);
}

/**
 * Replaces a strategy's definition by writing its next version; earlier versions (and the
 * executions pinned to them) are never touched. Refused, changing nothing, when the definition
 * is invalid, the strategy is archived, or `baseVersion` is given and is no longer the latest
 * (someone else edited it meanwhile).
 */
export async function updateStrategy(db: Db, strategyId: string, raw: StrategyDefinitionInput, options: WriteOptions & { baseVersion?: number } = {}): Promise<StrategyView> {
  const parsed = strategyDefinitionSchema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error, describeItemPath(raw));
  const definition = parsed.data;
  checkDefinition(definition, options.checkInput);
  const version = await transaction(db, async (tx) => {
    // The row lock orders concurrent edits: each gets its own next number.
    const [current] = await tx
      .select({ version: strategies.version, archivedAt: strategies.archivedAt, workspaceId: strategies.workspaceId })
      .from(strategies)
      .where(eq(strategies.id, strategyId))
      .for('update');
    if (!current) throw notFound(`Strategy not found: ${strategyId}`);
    if (current.archivedAt) throw conflict(`Strategy ${strategyId} is archived`);
    if (options.baseVersion !== undefined && options.baseVersion !== current.version) {
      throw conflict(`Strategy ${strategyId} was edited meanwhile: version ${current.version} is the latest, not ${options.baseVersion}`, { version: current.version });
    }
    await checkStrategyItems(tx, current.workspaceId, strategyId, definition.items);
    await hookPoint('strategy:save-checked', { strategyId });
    const next = current.version + 1;
    await insertVersion(tx, strategyId, next, definition, options.createdBy);
    await tx
      .update(strategies)
      .set({ name: definition.name, description: definition.description ?? null, onTaskFailure: definition.onTaskFailure, inputSchema: definition.inputSchema ?? null, version: next })
      .where(eq(strategies.id, strategyId));
    return next;
  });
  return getStrategy(db, strategyId, version);
}

/** Archives a strategy: gone from lists, cannot be started or edited; its versions and executions stay readable. Idempotent. */
export async function archiveStrategy(db: Db, strategyId: string): Promise<{ id: string; archivedAt: Date }> {
  const [row] = await db
    .update(strategies)
    .set({ archivedAt: sql`coalesce(${strategies.archivedAt}, now())` })
    .where(eq(strategies.id, strategyId))
    .returning({ id: strategies.id, archivedAt: strategies.archivedAt });
  if (!row?.archivedAt) throw notFound(`Strategy not found: ${strategyId}`);
  return { id: row.id, archivedAt: row.archivedAt };
}
