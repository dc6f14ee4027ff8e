import type { z } from 'zod';
import type { DependencyResult } from './runner.ts';

/** What an agent is told about its task. */
export interface AgentTask {
  id: string;
  executionId: string;
  workspaceId: string;
  key: string;
  agentType: string;
  description: string;
  input: Record<string, unknown>;
  attempt: number;
  retryCount: number;
  maxRetries: number;
  timeoutSeconds: number;
  /** True when this run follows a `wait()` that has run out. */
  resumedFromWait: boolean;
}

export interface AgentContext {
  task: AgentTask;
  /** The results of the tasks this one depends on, in the order of its dependencies. */
  dependencies: DependencyResult[];
  /** Reports progress: stored on the task and streamed as a `task-progress` event. */
  progress(data: Record<string, unknown>): Promise<void>;
  /** Aborted on timeout, when the lease is lost, or when the worker must stop. */
  signal: AbortSignal;
  /**
   * Holds the task until `until` without occupying a worker slot; it survives worker restarts.
   * The task shows as in_progress with its wake-up time; the agent runs again afterwards with
   * `task.resumedFromWait`. Pause lets a wait run out; cancel cuts it short (the task is skipped).
   */
  wait(until: Date): never;
}

/**
 * An agent returns a JSON-serialisable result or throws. Throw NonRetryableError for a
 * failure another attempt cannot fix; anything else is retried with backoff.
 */
export type AgentHandler = (context: AgentContext) => Promise<unknown> | unknown;

export interface AgentDefinition {
  /** Checks an item's input before anything runs (at strategy creation) and before each run. */
  inputSchema?: z.ZodType;
  run: AgentHandler;
}

/** The handlers a worker runs, one per agent type; a later registration replaces an earlier one. */
export class AgentRegistry {
  readonly #agents = new Map<string, AgentDefinition>();

  register(agentType: string, agent: AgentHandler | AgentDefinition): this {
    this.#agents.set(agentType, typeof agent === 'function' ? { run: agent } : agent);
    return this;
  }

  get(agentType: string): AgentDefinition | undefined {
    return this.#agents.get(agentType);
  }

  types(): string[] {
    return [...this.#agents.keys()];
  }

  /** The input check for strategy creation: a message, or undefined when the input is fine. */
  checkInput(agentType: string, input: Record<string, unknown>): string | undefined {
    const schema = this.#agents.get(agentType)?.inputSchema;
    if (!schema) return undefined;
    const parsed = schema.safeParse(input);
    if (parsed.success) return undefined;
    const issue = parsed.error.issues[0];
    return issue ? `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'is invalid';
  }
}
