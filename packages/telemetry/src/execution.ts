/**
 * One trace per run: the execution span is the parent of every task attempt's span, whichever
 * process runs it, and the child of the request (or task attempt) that started it.
 *
 * An execution lives across processes and for as long as it runs, longer than any one process
 * may: its span is never held open. Its ids are decided at start and stored on the execution
 * row (ExecutionTrace); task spans name it as their parent through that context; and the span
 * itself is recorded, with those ids and its start time from the row, in the transaction-commit
 * that ends the execution (completed, failed or cancelled). A process that dies leaves no
 * half-open span: an attempt's span exists only once ended, the execution's only once settled.
 */
import { type Attributes, type Context, context, propagation, ROOT_CONTEXT, type Span, type SpanContext, SpanKind, SpanStatusCode, type TimeInput, TraceFlags, trace } from '@opentelemetry/api';
import { randomSpanId, randomTraceId, tracingEnabled, withForcedIds } from './state.ts';

/** What executions.trace_context holds: the W3C context of the execution span, and its parent's span id. */
export interface ExecutionTrace {
  traceparent: string;
  tracestate?: string;
  /** The span the execution was started under (the start request's), in the same trace. */
  parentSpanId?: string;
}

export const tracer = () => trace.getTracer('strata');

/**
 * At start: the execution span's ids, as a child of the span active here (the start request's,
 * or the attempt of a `strategy` task starting a child execution), or a new trace's root. Null
 * when tracing is off in this process.
 */
export function newExecutionTrace(): ExecutionTrace | null {
  if (!tracingEnabled()) return null;
  const parent = trace.getActiveSpan()?.spanContext();
  const underParent = parent !== undefined && trace.isSpanContextValid(parent);
  const own = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: underParent ? parent.traceId : randomTraceId(),
    spanId: randomSpanId(),
    traceFlags: underParent ? parent.traceFlags : TraceFlags.SAMPLED,
    isRemote: true,
    ...(underParent && parent.traceState ? { traceState: parent.traceState } : {}),
  });
  const carrier: Record<string, string> = {};
  propagation.inject(own, carrier);
  if (!carrier.traceparent) return null;
  return { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}), ...(underParent ? { parentSpanId: parent.spanId } : {}) };
}

/**
 * Runs `fn` with `parent` (an ended span's context, such as a task attempt's) as the active span,
 * so an execution started inside (a child execution) joins its trace under it. Plain `fn()` when
 * tracing is off or there is no parent.
 */
export function underSpan<T>(parent: SpanContext | undefined, fn: () => T): T {
  if (!parent || !tracingEnabled() || !trace.isSpanContextValid(parent)) return fn();
  return context.with(trace.setSpanContext(ROOT_CONTEXT, parent), fn);
}

/** The context a task attempt's span starts in: the execution span as its (remote) parent. */
export function executionContext(stored: ExecutionTrace): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent: stored.traceparent, ...(stored.tracestate ? { tracestate: stored.tracestate } : {}) });
}

export const ATTR = {
  executionId: 'strata.execution.id',
  executionStatus: 'strata.execution.status',
  strategyId: 'strata.strategy.id',
  workspaceId: 'strata.workspace.id',
  taskId: 'strata.task.id',
  agentType: 'strata.agent.type',
  attempt: 'strata.task.attempt',
  outcome: 'strata.task.outcome',
  requestId: 'strata.request.id',
} as const;

export interface SettledExecution {
  executionId: string;
  status: 'completed' | 'failed' | 'cancelled';
  startTime: TimeInput;
  endTime: TimeInput;
  error?: string | null;
  attributes?: Attributes;
}

/** Records the execution's span, with the ids decided at its start, once it has ended. */
export function recordExecutionSpan(stored: ExecutionTrace, execution: SettledExecution): void {
  if (!tracingEnabled()) return;
  const own = trace.getSpanContext(executionContext(stored));
  if (!own || !trace.isSpanContextValid(own)) return;
  const parent = stored.parentSpanId ? trace.setSpanContext(ROOT_CONTEXT, { ...own, spanId: stored.parentSpanId }) : ROOT_CONTEXT;
  const span = withForcedIds({ traceId: own.traceId, spanId: own.spanId }, () =>
    tracer().startSpan(
      'execution',
      {
        kind: SpanKind.INTERNAL,
        startTime: execution.startTime,
        attributes: { ...execution.attributes, [ATTR.executionId]: execution.executionId, [ATTR.executionStatus]: execution.status },
      },
      parent,
    ),
  );
  if (execution.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: execution.error ?? 'Execution failed' });
  span.end(execution.endTime);
}

/** `lease_lost`: the task was taken over (its lease lapsed); the attempt's result was dropped. */
export type AttemptOutcomeName = 'completed' | 'failed' | 'waiting' | 'waiting_for_child' | 'released' | 'lease_lost';

/** A task attempt's span, child of its execution's; end it with endAttemptSpan. */
export function startAttemptSpan(
  stored: ExecutionTrace | null | undefined,
  task: { id: string; executionId: string; agentType: string; attempt: number },
): { span: Span; context: Context } | null {
  if (!tracingEnabled() || !stored) return null;
  const span = tracer().startSpan(
    `task ${task.agentType}`,
    { kind: SpanKind.CONSUMER, attributes: { [ATTR.taskId]: task.id, [ATTR.executionId]: task.executionId, [ATTR.agentType]: task.agentType, [ATTR.attempt]: task.attempt } },
    executionContext(stored),
  );
  return { span, context: trace.setSpan(executionContext(stored), span) };
}

export function endAttemptSpan(span: Span, outcome: AttemptOutcomeName, error?: string): void {
  span.setAttribute(ATTR.outcome, outcome);
  if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
  span.end();
}
