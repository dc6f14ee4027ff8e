import { executions, type Db, type ExecutionStatus } from '@strata/db';
import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';

export async function findExecution(db: Db, id: string): Promise<{ id: string; workspaceId: string; version: number } | undefined> {
  const [row] = await db.select({ id: executions.id, workspaceId: executions.workspaceId, version: executions.version }).from(executions).where(eq(executions.id, id));
  return row;
}

export interface ExecutionListItem {
  id: string;
  status: ExecutionStatus;
  strategyId: string;
  workspaceId: string;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  totalTasks: number;
  completedTasks: number;
  failedTasks: number;
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

/** A workspace's executions, newest first, a page at a time; `nextCursor` fetches the next page. */
export async function listExecutions(db: Db, input: { workspaceId: string; status?: ExecutionStatus; limit: number; cursor?: string }) {
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  if (input.cursor && !after) return { invalidCursor: true as const };
  const conditions: (SQL | undefined)[] = [eq(executions.workspaceId, input.workspaceId), input.status ? eq(executions.status, input.status) : undefined];
  if (after) conditions.push(or(lt(executions.createdAt, after.createdAt), and(eq(executions.createdAt, after.createdAt), lt(executions.id, after.id))));
  const rows = await db
    .select()
    .from(executions)
    .where(and(...conditions))
    .orderBy(desc(executions.createdAt), desc(executions.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page[page.length - 1];
  return {
    executions: page.map(
      (row): ExecutionListItem => ({
        id: row.id,
        status: row.status,
        strategyId: row.strategyId,
        workspaceId: row.workspaceId,
        createdAt: row.createdAt.toISOString(),
        startedAt: row.startedAt?.toISOString() ?? null,
        completedAt: row.completedAt?.toISOString() ?? null,
        totalTasks: row.totalTasks,
        completedTasks: row.completedTasks,
        failedTasks: row.failedTasks,
      }),
    ),
    nextCursor: rows.length > input.limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}
