import { executions } from '@strata/db';
import { eq, sql } from 'drizzle-orm';
import type { CarryOver } from './carry-over.ts';
import type { EngineContext } from './context.ts';
import { isRetryableStatus, type RetryMode } from './contract.ts';
import { conflict, notFound } from './errors.ts';
import { type ExecutionSummary, launchExecution, type StartExecutionInput } from './lifecycle.ts';

export interface RetryExecutionInput {
  /** The execution to run again: `failed` or `cancelled`, and settled (its in-progress tasks finished). */
  executionId: string;
  /** `failed` (default): carry over what completed, run the rest; `all`: run every task again. */
  mode?: RetryMode;
  createdBy?: string;
  /** As for startExecution: runs inside the new execution's start transaction (the API's Idempotency-Key). */
  withinStart?: StartExecutionInput['withinStart'];
}

/**
 * Re-runs a failed or cancelled execution: a new execution of the same strategy version with the
 * same input (`trigger: retry`, `retryOf` naming the original), started in one transaction like
 * any start. With mode `failed` the tasks that completed in the original (matched by L4 item)
 * are carried over: inserted completed with the original's result, `reused`, each with one
 * `task-completed` event marked `reused`, and no agent runs for them; their dependents are
 * ready at once and queued. Everything else runs. An archived strategy cannot be re-run (409,
 * as it cannot be started). The new execution depends on nothing of the original once started.
 */
export async function retryExecution(ctx: EngineContext, input: RetryExecutionInput): Promise<ExecutionSummary> {
  const [original] = await ctx.db
    .select({
      id: executions.id,
      status: executions.status,
      completedAt: executions.completedAt,
      workspaceId: executions.workspaceId,
      strategyId: executions.strategyId,
      strategyVersion: executions.strategyVersion,
      input: executions.input,
    })
    .from(executions)
    .where(eq(executions.id, input.executionId));
  if (!original) throw notFound('Execution not found');
  if (!isRetryableStatus(original.status)) throw conflict(`Cannot retry an execution that is ${original.status}`, { status: original.status });
  // Failed or cancelled, tasks already running still finish (and may complete): until they
  // have, what to carry over is not known, and re-running them could do their work twice.
  if (!original.completedAt) throw conflict(`Cannot retry an execution that is ${original.status} until its running tasks have finished`, { status: original.status });
  const carryOver: CarryOver | undefined = (input.mode ?? 'failed') === 'failed' ? (tx) => completedTasksOf(tx, original.id) : undefined;
  return launchExecution(
    ctx,
    {
      strategyId: original.strategyId,
      workspaceId: original.workspaceId,
      input: original.input,
      trigger: 'retry',
      retryOf: original.id,
      version: original.strategyVersion,
      ...(input.createdBy ? { createdBy: input.createdBy } : {}),
      ...(input.withinStart ? { withinStart: input.withinStart } : {}),
    },
    carryOver,
  );
}

/** The completed tasks of a settled execution, by L4 item id (a settled execution's tasks change no more). */
async function completedTasksOf(tx: Parameters<CarryOver>[0], executionId: string): Promise<Map<string, string>> {
  const rows = await tx.execute<{ id: string; l4ItemId: string }>(sql`
    select id, l4_item_id as "l4ItemId" from tasks where execution_id = ${executionId} and status = 'completed'`);
  return new Map(rows.map((row) => [row.l4ItemId, row.id]));
}
