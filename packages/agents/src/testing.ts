import type { AgentDeps } from './types.ts';
import { type AgentContext, type AgentTask, ChildWaitRequest, type ChildSummary, childRequestSchema, type DependencyResult, WaitRequest } from '@strata/engine';

/**
 * Test-only: the context the engine hands an agent, with progress reports collected,
 * `wait()` throwing the engine's WaitRequest and `child.waitFor()` its ChildWaitRequest, as in a
 * real run; `child.current()` answers `child` (the attempt's child execution, none by default).
 */
export function agentContext(options: {
  input: Record<string, unknown>;
  task?: Partial<AgentTask>;
  dependencies?: DependencyResult[];
  signal?: AbortSignal;
  /** The execution's input (`{{input.<path>}}`). */
  executionInput?: Record<string, unknown>;
  /** The engine's answers to `waitForApproval` / `waitForSignal`; by default nothing came yet, so they ask to wait. */
  waitForApproval?: AgentContext['waitForApproval'];
  waitForSignal?: AgentContext['waitForSignal'];
  child?: ChildSummary | null;
}) {
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
    execution: { id: options.task?.executionId ?? 'exec_test', input: options.executionInput ?? {} },
    dependencies: options.dependencies ?? [],
    progress: async (data) => {
      progress.push(data);
    },
    signal: options.signal ?? new AbortController().signal,
    wait: (until: Date): never => {
      throw new WaitRequest(until);
    },
    waitForApproval: options.waitForApproval ?? (async (request) => Promise.reject(new WaitRequest(new Date(Date.now() + 3600_000), { progress: { status: 'waiting_for_approval', prompt: request.prompt }, wakeWhenReady: true }))),
    waitForSignal: options.waitForSignal ?? (async (name) => Promise.reject(new WaitRequest(new Date(Date.now() + 3600_000), { progress: { status: 'waiting_for_signal', signal: name }, wakeWhenReady: true }))),
    child: {
      current: async () => options.child ?? null,
      waitFor: (request): never => {
        throw new ChildWaitRequest(childRequestSchema.parse(request));
      },
    },
  };
  return { ctx, progress };
}

/** CPU time (user + system) that `run` takes, in milliseconds; a throw counts as finishing. */
export function cpuMs(run: () => unknown): number {
  const start = process.cpuUsage();
  try {
    run();
  } catch {
    // An error (e.g. "invalid placeholder") is an answer too: only the time matters here.
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const KiB = 1024;

/**
 * Test-only: asserts that `run` is linear on `make(size)` inputs: 1 MiB must take well under a
 * second of CPU, and no more than 20 times what 64 KiB takes (16× the input) plus 100 ms, so a
 * quadratic algorithm fails even on a fast machine and a linear one passes on a busy one.
 */
export function expectLinearTime(make: (size: number) => string, run: (input: string) => unknown): { smallMs: number; largeMs: number } {
  const small = make(64 * KiB);
  const large = make(1024 * KiB);
  cpuMs(() => run(small)); // warm up the JIT
  const smallMs = cpuMs(() => run(small));
  const largeMs = cpuMs(() => run(large));
  if (largeMs > 500 || largeMs > 20 * smallMs + 100) {
    throw new Error(`not linear: ${smallMs.toFixed(1)} ms for 64 KiB, ${largeMs.toFixed(1)} ms for 1 MiB`);
  }
  return { smallMs, largeMs };
}

/** Test-only: agent configuration with no providers (no SMTP, no LLM, nothing allowed), plus `overrides`. */
export function agentConfig(overrides: Partial<AgentDeps['config']> = {}): AgentDeps['config'] {
  return {
    SMTP_URL: undefined,
    SMTP_FROM: 'Strata <strata@localhost>',
    LLM_BASE_URL: undefined,
    LLM_MODEL: undefined,
    LLM_API_KEY: undefined,
    AGENT_FETCH_ALLOW_HOSTS: [],
    ...overrides,
  };
}
