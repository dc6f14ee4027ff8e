import { executions, strategies, type Db, type ExecutionStatus, type ExecutionTrigger } from '@strata/db';
import { and, desc, eq, ilike, inArray, lt, or, type SQL } from 'drizzle-orm';

export async function findExecution(db: Db, id: string): Promise<{ id: string; workspaceId: string; version: number } | undefined> {
  const [row] = await db.select({ id: executions.id, workspaceId: executions.workspaceId, version: executions.version }).from(executions).where(eq(executions.id, id));
  return row;
}

export interface ExecutionListItem {
  id: string;
  status: ExecutionStatus;
  strategyId: string;
  /** The strategy's name now (null if it was deleted). */
  strategyName: string | null;
  workspaceId: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
  /** How it was started (api, schedule or retry), the schedule that started it, the execution it re-runs. */
  trigger: ExecutionTrigger;
  scheduleId: string | null;
  retryOf: string | null;
  /** A child execution: the execution, and its task, that started it. */
  parentExecutionId: string | null;
  parentTaskId: string | null;
}

const encodeCursor = (createdAt: Date, id: string) => Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');

/** What encodeCursor writes, and nothing else: a timestamp PostgreSQL can hold and an execution id. */
const CURSOR_TEXT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(exec_[A-Za-z0-9_]{1,200})$/;

/**
 * A cursor is client-supplied text: anything but one this server wrote is refused here, before
 * it reaches SQL (where a year PostgreSQL cannot store, or a NUL, failed the query).
 */
function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return undefined;
  const match = CURSOR_TEXT.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const [, at, id] = match;
  const createdAt = new Date(at!);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at || createdAt.getUTCFullYear() < 1970) return undefined;
  return { createdAt, id: id! };
}

export interface ListExecutionsInput {
  workspaceId: string;
  /** One status or several (any of them). */
  status?: ExecutionStatus | readonly ExecutionStatus[] | undefined;
  /** Part of the execution's id or of its strategy's name, case-insensitive. */
  q?: string | undefined;
  /** Only the children of this execution. */
  parentExecutionId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** `text` for a LIKE pattern that matches it literally anywhere. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** A workspace's executions, newest first, a page at a time; `nextCursor` fetches the next page. */
export async function listExecutions(db: Db, input: ListExecutionsInput) {
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  if (input.cursor && !after) return { invalidCursor: true as const };
  const statuses = input.status === undefined ? [] : typeof input.status === 'string' ? [input.status] : [...input.status];
  const conditions: (SQL | undefined)[] = [eq(executions.workspaceId, input.workspaceId), statuses.length ? inArray(executions.status, statuses) : undefined];
  if (input.parentExecutionId) conditions.push(eq(executions.parentExecutionId, input.parentExecutionId));
  if (input.q) conditions.push(or(ilike(executions.id, containing(input.q)), ilike(strategies.name, containing(input.q))));
  if (after) conditions.push(or(lt(executions.createdAt, after.createdAt), and(eq(executions.createdAt, after.createdAt), lt(executions.id, after.id))));
  const joined = await db
    .select({ execution: executions, strategyName: strategies.name })
    .from(executions)
    .leftJoin(strategies, eq(strategies.id, executions.strategyId))
    .where(and(...conditions))
    .orderBy(desc(executions.createdAt), desc(executions.id))
    .limit(input.limit + 1);
  const rows = joined.map((r) => ({ ...r.execution, strategyName: r.strategyName }));
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    executions: page.map(
      (row): ExecutionListItem => ({
        id: row.id,
        status: row.status,
        strategyId: row.strategyId,
        strategyName: row.strategyName,
        workspaceId: row.workspaceId,
        createdAt: row.createdAt.toISOString(),
        startedAt: row.startedAt?.toISOString() ?? null,
        completedAt: row.completedAt?.toISOString() ?? null,
        totalTasks: row.totalTasks,
        completedTasks: row.completedTasks,
        failedTasks: row.failedTasks,
        trigger: row.trigger,
        scheduleId: row.scheduleId,
        retryOf: row.retryOf,
        parentExecutionId: row.parentExecutionId,
        parentTaskId: row.parentTaskId,
      }),
    ),
    nextCursor: rows.length > input.limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}
