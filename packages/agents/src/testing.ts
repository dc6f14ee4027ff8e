import { type AgentContext, type AgentTask, type DependencyResult, WaitRequest } from '@strata/engine';

/**
 * Test-only: the context the engine hands an agent, with progress reports collected and
 * `wait()` throwing the engine's WaitRequest, as in a real run.
 */
export function agentContext(options: { input: Record<string, unknown>; task?: Partial<AgentTask>; dependencies?: DependencyResult[]; signal?: AbortSignal }) {
  const progress: Record<string, unknown>[] = [];
  const ctx: AgentContext = {
    task: {
      id: 'task_test',
      executionId: 'exec_test',
      workspaceId: 'ws_test',
      key: 'test',
      agentType: 'test',
      description: '',
      attempt: 1,
      retryCount: 0,
      maxRetries: 3,
      timeoutSeconds: 60,
      resumedFromWait: false,
      ...options.task,
      input: options.input,
    },
    dependencies: options.dependencies ?? [],
    progress: async (data) => {
      progress.push(data);
    },
    signal: options.signal ?? new AbortController().signal,
    wait: (until: Date): never => {
      throw new WaitRequest(until);
    },
  };
  return { ctx, progress };
}
