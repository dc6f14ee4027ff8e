import { z } from 'zod';
import type { ChildRequest, ChildSummary } from './children/request.ts';
import type { DependencyResult } from './runner.ts';
import type { ApprovalDecision, ApprovalRequest } from './waits/approvals.ts';
import type { SignalDelivery } from './waits/signals.ts';

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

/** What an agent is told about its task's execution. */
export interface AgentExecution {
  id: string;
  /** The parameters the execution started with (valid against its strategy's inputSchema; `{}` when it declares none). */
  input: Record<string, unknown>;
}

export interface AgentContext {
  task: AgentTask;
  execution: AgentExecution;
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
  /** Another strategy run as a child execution of this task (the `strategy` agent's way of working). */
  child: AgentChildren;
  /**
   * Asks a person (a member with the operator role or above) to approve or reject, and resolves
   * with their decision. Until there is one, the task waits durably like `wait()` (the call
   * throws the engine's WaitRequest: let it propagate), showing `task-progress` `{ status:
   * "waiting_for_approval", prompt }`; the answer, or the timeout (`onTimeout` decides, `by`
   * null), wakes it and the agent runs again, making the same call, which then resolves. One
   * approval per task, kept across its attempts; the first call's request is the one asked.
   * While the execution is paused an answer is recorded and the task goes on at resume.
   */
  waitForApproval(request: ApprovalRequest): Promise<ApprovalDecision>;
  /**
   * The first signal of `name` sent to the execution (`POST /api/executions/:id/signals`),
   * before or after this call; null once `timeoutSeconds` (from the first call) passed without
   * one. Until then the task waits durably, as with `waitForApproval`. A task waits for one
   * signal name, and does not also ask for an approval.
   */
  waitForSignal(name: string, options?: { timeoutSeconds?: number | undefined }): Promise<SignalDelivery | null>;
}

/** What an agent can do with child executions: one per attempt of its task, waited for durably. */
export interface AgentChildren {
  /** The child execution this attempt started, as its summary (status, counts, health, final results); null before it starts one. */
  current(): Promise<ChildSummary | null>;
  /**
   * Starts `request` (another strategy of this task's workspace) as a child execution of this
   * attempt or, when this attempt already has one, goes on waiting for it: either way the task is
   * held (no worker slot, across restarts) until the child ends, and the agent runs again then with
   * `task.resumedFromWait`. Never returns. A start the engine refuses (an unknown or archived
   * strategy, input its schema refuses, a cycle, nesting deeper than STRATEGY_MAX_DEPTH) fails the
   * task without retry. Cancelling or pausing the execution reaches the child too.
   */
  waitFor(request: ChildRequest): never;
}

/**
 * An agent returns a JSON-serialisable result or throws. Throw NonRetryableError for a
 * failure another attempt cannot fix; anything else is retried with backoff.
 */
export type AgentHandler = (context: AgentContext) => Promise<unknown> | unknown;

export interface AgentDefinition {
  /** Checks an item's input before anything runs (at strategy creation) and before each run. */
  inputSchema?: z.ZodType;
  /** One sentence for people choosing an agent (the dashboard's form, `GET /api/agents`). */
  description?: string;
  /** An input this agent accepts, shown beside its schema. */
  example?: Record<string, unknown>;
  run: AgentHandler;
}

/** What `GET /api/agents` says about one agent type. */
export interface AgentCatalogEntry {
  type: string;
  description: string | null;
  /** JSON Schema (draft 2020-12) of the input, as the agent accepts it; null when it takes any object. */
  inputSchema: Record<string, unknown> | null;
  example: Record<string, unknown> | null;
}

/** What is wrong with an item's input, and where in it. */
export interface InputIssue {
  path: (string | number)[];
  message: string;
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

  /** Every registered agent type with its input's JSON Schema and an example, built-ins and custom alike. */
  catalog(): AgentCatalogEntry[] {
    return [...this.#agents].map(([type, agent]) => ({
      type,
      description: agent.description ?? null,
      inputSchema: agent.inputSchema ? inputJsonSchema(agent.inputSchema) : null,
      example: agent.example ?? null,
    }));
  }

  /** The input check for strategy creation: a message, or undefined when the input is fine. */
  checkInput(agentType: string, input: Record<string, unknown>): string | undefined {
    const issue = this.inputIssue(agentType, input);
    return issue ? `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}` : undefined;
  }

  /** The first problem with an input, with the path to the field it concerns (so a form can show it there). */
  inputIssue(agentType: string, input: Record<string, unknown>): InputIssue | undefined {
    const schema = this.#agents.get(agentType)?.inputSchema;
    if (!schema) return undefined;
    const parsed = schema.safeParse(input);
    if (parsed.success) return undefined;
    const issue = parsed.error.issues[0];
    return issue ? { path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))), message: issue.message } : { path: [], message: 'is invalid' };
  }
}

/**
 * The input side of a zod schema as JSON Schema. Refinements and transforms have no JSON Schema
 * form: they are left out (`unrepresentable: 'any'`) and still enforced by the server.
 */
function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
