import type { Logger } from '@strata/config';
import { type AttemptOutcomeName, type ExecutionTrace, tracingEnabled } from '@strata/telemetry';
import { sql } from 'drizzle-orm';
import type { EngineContext } from './context.ts';
import type { AttemptOutcome } from './runner.ts';
import { textArray } from './tx.ts';

/**
 * The stored trace contexts of these executions (executions.trace_context), for the spans of
 * their task attempts. Nothing is read while tracing is off; a failed read costs the spans,
 * never the tasks.
 */
export async function executionTraces(ctx: EngineContext, executionIds: readonly string[], logger: Logger): Promise<Map<string, ExecutionTrace>> {
  const traces = new Map<string, ExecutionTrace>();
  if (!tracingEnabled() || executionIds.length === 0) return traces;
  try {
    const rows = await ctx.db.execute<{ id: string; traceContext: ExecutionTrace | null }>(sql`
      select id, trace_context as "traceContext" from executions where id = any(${textArray([...new Set(executionIds)])}) and trace_context is not null`);
    for (const row of rows) if (row.traceContext) traces.set(row.id, row.traceContext);
  } catch (error) {
    logger.warn({ err: error }, 'could not read the executions’ trace contexts; their task spans are left out');
  }
  return traces;
}

/** What an attempt's span says became of it. */
export function attemptOutcomeName(outcome: AttemptOutcome): AttemptOutcomeName {
  if (outcome.ok === true) return 'completed';
  if (outcome.ok === false) return 'failed';
  if (outcome.ok === 'wait') return 'waiting';
  if (outcome.ok === 'child') return 'waiting_for_child';
  return 'released';
}
