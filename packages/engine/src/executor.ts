import { EngineError, NonRetryableError, WaitRequest } from './errors.ts';
import type { AgentChildren, AgentRegistry } from './agent.ts';
import { ChildWaitRequest, childRequestSchema } from './children/request.ts';
import { CHILD_RESULTS_MAX_BYTES, childSummary } from './children/summary.ts';
import { hookPoint } from './hooks.ts';
import type { EngineContext } from './context.ts';
import { executionInput } from './execution-input.ts';
import { boundedJson, PROGRESS_MAX_BYTES } from './limits.ts';
import { type AttemptOutcome, type ClaimedTask, type DependencyResult, reportProgress } from './runner.ts';
import { awaitApproval } from './waits/approvals.ts';
import { SupersededAttempt } from './waits/attempt.ts';
import { awaitSignal } from './waits/signals.ts';

export interface TaskLimits {
  /** A bigger result fails the attempt without retry (`TASK_RESULT_MAX_BYTES`). */
  resultMaxBytes: number;
}

/**
 * An abort that is not the agent's fault: the worker is stopping, or the database failed
 * around the agent. The attempt is handed back without being charged.
 */
export class HandBack extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandBack';
  }
}

/** Recognised by name too: a custom agent bundling its own copy of the engine throws a different class. */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (error instanceof Error && error.name === 'NonRetryableError');
}

/**
 * An agent's machine-readable reason (`network_unavailable`, ...: see @strata/agents' errors.ts),
 * passed on in the task-failed event. Only snake_case codes: a socket's `ECONNREFUSED` is not one.
 */
function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(code) ? code : undefined;
}

/** How long progress() keeps retrying a database error before the attempt is handed back. */
const PROGRESS_RETRY_DELAYS_MS = [50, 200, 500, 1000, 2000];

export interface RunHooks {
  /** Called with the agent's own promise, which may outlive the outcome (an agent ignoring its signal). */
  agentStarted?(done: Promise<unknown>): void;
}

/** Runs one claimed task's agent to an outcome: never throws. */
export async function runTask(
  ctx: EngineContext,
  registry: AgentRegistry,
  task: ClaimedTask,
  dependencies: Map<string, DependencyResult>,
  controller: AbortController,
  limits: TaskLimits,
  hooks: RunHooks = {},
): Promise<AttemptOutcome> {
  const base = { taskId: task.id, executionId: task.executionId, attempt: task.attempt, jobId: task.jobId };
  const agent = registry.get(task.agentType);
  if (!agent) {
    return {
      ...base,
      ok: false,
      error: `No agent is registered for type "${task.agentType}" on this worker: add the module that registers it to STRATA_AGENT_MODULES and restart the worker`,
      retryable: false,
      code: 'agent_not_registered',
    };
  }
  if (agent.inputSchema) {
    const parsed = agent.inputSchema.safeParse(task.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ...base, ok: false, error: `Invalid input: ${issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'rejected'}`, retryable: false };
    }
  }
  const timeoutMs = task.timeoutSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`Timed out after ${task.timeoutSeconds} s`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const aborted = new Promise<never>((_, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason);
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason ?? new Error('Aborted')), { once: true });
  });
  const progress = async (data: Record<string, unknown>) => {
    // Checked and copied now: what is stored and streamed is what was measured.
    const text = boundedJson(data, Math.min(PROGRESS_MAX_BYTES, limits.resultMaxBytes), { label: 'Progress report' });
    for (let attempt = 0; ; attempt++) {
      try {
        await reportProgress(ctx, task, JSON.parse(text) as Record<string, unknown>);
        return;
      } catch (error) {
        // A database error is not the agent's: retried, then the attempt is handed back uncharged.
        const delay = PROGRESS_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || controller.signal.aborted) {
          const handBack = new HandBack(`Progress could not be recorded: ${(error as Error).message}`);
          controller.abort(handBack);
          throw handBack;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  /**
   * An engine call made for the agent (an approval, a signal): its wait and the agent's own
   * mistakes go to the agent; a database error is not the agent's, and a call for an attempt
   * that lost its task is not either: the attempt is handed back uncharged (a stale one's
   * hand-back is discarded by its fence).
   */
  const engineCall = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof WaitRequest || error instanceof NonRetryableError || error instanceof EngineError) throw error;
      const handBack = new HandBack(error instanceof SupersededAttempt ? error.message : `The engine could not be reached: ${(error as Error).message}`);
      controller.abort(handBack);
      throw handBack;
    }
  };
  let parameters: Record<string, unknown>;
  try {
    parameters = await executionInput(ctx, task.executionId);
  } catch (error) {
    // A database error is not the agent's: the attempt is handed back uncharged.
    return { ...base, ok: 'release', reason: `The execution's input could not be loaded: ${(error as Error).message}` };
  }
  try {
    const run = Promise.resolve().then(() =>
      agent.run({
        execution: { id: task.executionId, input: parameters },
        task: {
          id: task.id,
          executionId: task.executionId,
          workspaceId: task.workspaceId,
          key: task.key,
          agentType: task.agentType,
          description: task.description,
          input: task.input,
          attempt: task.attempt,
          retryCount: task.retryCount,
          maxRetries: task.maxRetries,
          timeoutSeconds: task.timeoutSeconds,
          resumedFromWait: task.resumedFromWait,
        },
        dependencies: task.dependencies.map((id) => dependencies.get(id)).filter((d): d is DependencyResult => d !== undefined),
        progress,
        signal: controller.signal,
        wait: (until: Date) => {
          if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw new NonRetryableError('wait() needs a valid Date');
          throw new WaitRequest(until);
        },
        waitForApproval: (request) => engineCall(() => awaitApproval(ctx, task, request)),
        waitForSignal: (name, options) => engineCall(() => awaitSignal(ctx, task, name, options)),
        child: childrenOf(ctx, task, limits, controller),
      }),
    );
    hooks.agentStarted?.(run.catch(() => {}));
    const result = await Promise.race([run, timedOut, aborted]);
    return { ...base, ok: true, result: toStoredResult(result, limits.resultMaxBytes) };
  } catch (error) {
    if (error instanceof WaitRequest) return { ...base, ok: 'wait', until: error.until, progress: error.progress, wakeWhenReady: error.wakeWhenReady };
    if (error instanceof ChildWaitRequest) return { ...base, ok: 'child', request: error.request };
    // Whatever the agent threw after a hand-back abort, the abort is what ended the attempt.
    const reason = controller.signal.reason;
    if (controller.signal.aborted && reason instanceof HandBack) return { ...base, ok: 'release', reason: reason.message };
    const message = error instanceof Error ? error.message : String(error);
    const code = errorCode(error);
    return { ...base, ok: false, error: message || 'Agent failed', retryable: !isNonRetryable(error), ...(code ? { code } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

/** An attempt's access to its child execution (agent.ts, AgentChildren). */
function childrenOf(ctx: EngineContext, task: ClaimedTask, limits: TaskLimits, controller: AbortController): AgentChildren {
  // The summary's results take at most half of what a result may hold: the rest is its counts and names.
  const resultsMaxBytes = Math.min(CHILD_RESULTS_MAX_BYTES, Math.floor(limits.resultMaxBytes / 2));
  return {
    current: async () => {
      let summary: Awaited<ReturnType<AgentChildren['current']>>;
      try {
        summary = await childSummary(ctx.db, { taskId: task.id, attempt: task.attempt }, resultsMaxBytes);
      } catch (error) {
        // A database error is not the agent's: the attempt is handed back uncharged.
        const handBack = new HandBack(`The child execution could not be read: ${(error as Error).message}`);
        controller.abort(handBack);
        throw handBack;
      }
      await hookPoint('children:after-read', { taskId: task.id, attempt: task.attempt, status: summary?.status ?? null });
      return summary;
    },
    waitFor: (request) => {
      const parsed = childRequestSchema.safeParse(request);
      if (!parsed.success) throw new NonRetryableError(`child.waitFor: ${parsed.error.issues[0]?.path.join('.') || 'request'}: ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
      throw new ChildWaitRequest(parsed.data);
    },
  };
}

/**
 * Results are stored as JSON: undefined becomes null; anything unserialisable, bigger than
 * the cap, or holding text jsonb refuses fails the attempt without retry (another attempt
 * would return the same).
 */
function toStoredResult(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return null;
  return JSON.parse(boundedJson(value, maxBytes, { label: 'Result', setting: 'TASK_RESULT_MAX_BYTES' }));
}
