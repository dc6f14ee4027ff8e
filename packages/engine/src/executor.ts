import { NonRetryableError, WaitRequest } from './errors.ts';
import type { AgentRegistry } from './agent.ts';
import type { EngineContext } from './context.ts';
import { boundedJson, PROGRESS_MAX_BYTES } from './limits.ts';
import { type AttemptOutcome, type ClaimedTask, type DependencyResult, reportProgress } from './runner.ts';

export interface RunningTask {
  task: ClaimedTask;
  controller: AbortController;
}

export interface TaskLimits {
  /** A bigger result fails the attempt without retry (`TASK_RESULT_MAX_BYTES`). */
  resultMaxBytes: number;
}

/** Runs one claimed task's agent to an outcome: never throws. */
export async function runTask(
  ctx: EngineContext,
  registry: AgentRegistry,
  task: ClaimedTask,
  dependencies: Map<string, DependencyResult>,
  controller: AbortController,
  limits: TaskLimits,
): Promise<AttemptOutcome> {
  const base = { taskId: task.id, executionId: task.executionId, attempt: task.attempt };
  const agent = registry.get(task.agentType);
  if (!agent) return { ...base, ok: false, error: `No agent is registered for type "${task.agentType}"`, retryable: false };
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
  try {
    const result = await Promise.race([
      Promise.resolve().then(() =>
        agent.run({
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
          progress: async (data) => {
            // Checked and copied now: what is stored and streamed is what was measured.
            const text = boundedJson(data, Math.min(PROGRESS_MAX_BYTES, limits.resultMaxBytes), { label: 'Progress report' });
            await reportProgress(ctx, task, JSON.parse(text) as Record<string, unknown>);
          },
          signal: controller.signal,
          wait: (until: Date) => {
            if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw new NonRetryableError('wait() needs a valid Date');
            throw new WaitRequest(until);
          },
        }),
      ),
      timedOut,
      aborted,
    ]);
    return { ...base, ok: true, result: toStoredResult(result, limits.resultMaxBytes) };
  } catch (error) {
    if (error instanceof WaitRequest) return { ...base, ok: 'wait', until: error.until };
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, ok: false, error: message || 'Agent failed', retryable: !(error instanceof NonRetryableError) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Results are stored as JSON: undefined becomes null; anything unserialisable, or bigger than
 * the cap, fails the attempt without retry (another attempt would return the same).
 */
function toStoredResult(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return null;
  return JSON.parse(boundedJson(value, maxBytes, { label: 'Result', setting: 'TASK_RESULT_MAX_BYTES' }));
}
