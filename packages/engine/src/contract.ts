/**
 * The execution contract, defined once: statuses, which control calls each status accepts,
 * event types, and the status body (the `state` message of the stream). The engine enforces it,
 * the API documents it, the client folds the stream with it and the dashboard renders it.
 *
 * Imported by the browser through `@strata/engine/contract`: this module imports nothing but zod
 * and the enum lists, never the database.
 */
import { EXECUTION_STATUSES, EXECUTION_TRIGGERS, type ExecutionStatus, PRIORITIES, TASK_STATUSES } from '@strata/db/enums';
import { z } from 'zod';

export { EVENT_TYPES, EXECUTION_STATUSES, TASK_STATUSES, type EventType, type ExecutionStatus, type TaskStatus } from '@strata/db/enums';

export const CONTROL_ACTIONS = ['pause', 'resume', 'cancel'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/**
 * The control calls and the statuses they leave from. A call on an execution already in its
 * target status (`same`) is an idempotent no-op; from any other status it is a 409.
 */
export const CONTROL_RULES: Readonly<Record<ControlAction, { from: readonly ExecutionStatus[]; same: ExecutionStatus }>> = {
  pause: { from: ['running'], same: 'paused' },
  resume: { from: ['paused'], same: 'running' },
  cancel: { from: ['pending', 'running', 'paused'], same: 'cancelled' },
};

/** The control calls that change an execution in this status (what a UI offers). */
export function allowedActions(status: string): Record<ControlAction, boolean> {
  const allowed = (action: ControlAction) => (CONTROL_RULES[action].from as readonly string[]).includes(status);
  return { pause: allowed('pause'), resume: allowed('resume'), cancel: allowed('cancel') };
}

/**
 * A re-run (`POST /api/executions/:id/retry`): `failed` (the default) carries over the tasks that
 * completed in the original and runs the rest; `all` runs every task again.
 */
export const RETRY_MODES = ['failed', 'all'] as const;
export type RetryMode = (typeof RETRY_MODES)[number];
/** The statuses an execution may be re-run from; from any other it is a 409. */
export const RETRYABLE_STATUSES: readonly ExecutionStatus[] = ['failed', 'cancelled'];
/** True when an execution in this status may be re-run (once its in-progress tasks have finished: `completedAt` set). */
export const isRetryableStatus = (status: unknown): boolean => typeof status === 'string' && (RETRYABLE_STATUSES as readonly string[]).includes(status);

export const TERMINAL_EXECUTION_STATUSES: ReadonlySet<string> = new Set<ExecutionStatus>(['completed', 'failed', 'cancelled']);
/** True when an execution in this status can change no more. */
export const isTerminalStatus = (status: unknown): boolean => typeof status === 'string' && TERMINAL_EXECUTION_STATUSES.has(status);

/** The events after which the server closes the stream. */
export const FINAL_EVENT_TYPES: ReadonlySet<string> = new Set(['execution-completed', 'execution-cancelled', 'error']);

/** Why a task will not run: its execution was cancelled, its execution failed, or a task it depends on failed. */
export const SKIP_REASONS = ['cancelled', 'execution-failed', 'dependency-failed'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

const agentStats = z.object({ tasksCompleted: z.number().int(), tasksFailed: z.number().int(), avgDuration: z.number() });

export const healthSchema = z.object({
  score: z.number().meta({ description: '0–100; 100 is a clean run' }),
  completionRate: z.number(),
  taskCompletionRate: z.number(),
  errorRate: z.number(),
  lastChecked: z.string(),
  issues: z.array(z.string()),
  averageTaskDuration: z.number(),
  agentStatus: z.record(z.string(), agentStats).meta({ description: 'Per agent type: tasks completed, failed, average duration (ms)' }),
});

export const metricsSchema = z.object({
  totalDuration: z.number(),
  averageTaskDuration: z.number(),
  totalTasks: z.number().int(),
  completedTasks: z.number().int(),
  failedTasks: z.number().int(),
  skippedTasks: z.number().int(),
  inProgressTasks: z.number().int(),
  pendingTasks: z.number().int(),
  retryAttempts: z.number().int(),
});

/** The limits that can hold a task (throttle/): the workspace's per agent type, the execution's, a concurrency key's. */
export const LIMIT_NAMES = ['concurrency', 'perMinute', 'maxConcurrency', 'keyConcurrency', 'keyPerMinute'] as const;

/** What a throttled task's progress (and its `task-progress` event) says. */
export const throttleSchema = z.object({
  status: z.literal('throttled'),
  limit: z.enum(LIMIT_NAMES),
  agentType: z.string(),
  max: z.number().int(),
  key: z.string().optional().meta({ description: 'The concurrency key (keyConcurrency, keyPerMinute)' }),
  retryAt: z.string().optional().meta({ description: 'When the rolling window next has room (perMinute, keyPerMinute)' }),
});
export type ThrottleProgress = z.infer<typeof throttleSchema>;

/** A task as the status body shows it: snake_case fields, as in the seed. */
export const taskViewSchema = z.object({
  id: z.string(),
  l4_item_id: z.string(),
  execution_id: z.string(),
  key: z.string(),
  agent_type: z.string(),
  status: z.enum(TASK_STATUSES),
  priority: z.enum(PRIORITIES),
  description: z.string(),
  dependencies: z.array(z.string()),
  assigned_at: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  wake_at: z.string().nullable().meta({ description: 'Set while the task waits (coordination): when it wakes' }),
  result: z.unknown(),
  error: z.string().nullable(),
  progress: z.unknown(),
  retry_count: z.number().int(),
  max_retries: z.number().int(),
  skip_reason: z.enum(SKIP_REASONS).nullable().meta({ description: 'Why a skipped task did not run' }),
  reused: z.boolean().meta({ description: 'Completed by a re-run from the execution it retries: the result was carried over and no agent ran' }),
  throttle: throttleSchema
    .nullable()
    .meta({ description: 'Set while the task waits for a limit (without a worker slot or an attempt): which limit holds it, its maximum, and for a per-minute limit when the window next opens' }),
});

/** The task fields the seed documents for the status body: always there. */
/** The seed's task fields ("Task Structure": each task in the response has them) but its optional `result`, fetched per task or with `include=results`. */
export const SEED_TASK_FIELDS = ['id', 'l4_item_id', 'execution_id', 'agent_type', 'status', 'priority', 'description', 'dependencies', 'assigned_at', 'completed_at', 'error', 'retry_count', 'max_retries'] as const;
/**
 * What a status body's tasks may add to the seed's fields, asked for with `include`:
 * `detail` (key, started_at, wake_at, skip_reason) and `results` (result, progress: the agents' output, unbounded in
 * size, so never sent unless asked for; one task's is `GET /api/executions/:id/tasks/:taskId`).
 */
export const TASK_INCLUDES = ['detail', 'results'] as const;
export type TaskInclude = (typeof TASK_INCLUDES)[number];
export const TASK_INCLUDE_FIELDS: Readonly<Record<TaskInclude, readonly (keyof TaskView)[]>> = {
  detail: ['key', 'started_at', 'wake_at', 'skip_reason', 'reused', 'throttle'],
  results: ['result', 'progress'],
};

/**
 * A task in the status body: the seed's fields always, the rest as `include` asks (a field
 * that is included is always present, null when empty).
 */
export const statusTaskSchema = taskViewSchema
  .partial()
  .required(Object.fromEntries(SEED_TASK_FIELDS.map((field) => [field, true])) as { [K in (typeof SEED_TASK_FIELDS)[number]]: true })
  .meta({ description: "The seed's fields always; `include=detail` adds key, started_at, wake_at, skip_reason, reused, throttle; `include=results` adds result and progress" });

export const executionViewSchema = z.object({
  id: z.string(),
  status: z.enum(EXECUTION_STATUSES),
  strategyId: z.string(),
  strategyVersion: z.number().int().meta({ description: 'The version of the strategy this execution runs' }),
  workspaceId: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  totalTasks: z.number().int(),
  completedTasks: z.number().int(),
  failedTasks: z.number().int(),
  error: z.string().nullable(),
  input: z.record(z.string(), z.unknown()).meta({ description: "The parameters the execution started with, valid against its strategy version's inputSchema" }),
  trigger: z.enum(EXECUTION_TRIGGERS).meta({ description: 'How it was started: by a call (api), by a schedule, as a re-run (retry), or by a strategy task of another execution (parent)' }),
  scheduleId: z.string().nullable().meta({ description: 'The schedule that started it (trigger schedule)' }),
  retryOf: z.string().nullable().meta({ description: 'The execution it re-runs (trigger retry)' }),
  parentExecutionId: z.string().nullable().meta({ description: 'A child execution (trigger parent): the execution whose strategy task started it' }),
  parentTaskId: z.string().nullable().meta({ description: 'A child execution: the task of the parent execution that started it and waits for it' }),
});

/** `GET /api/executions/:id/status`, and the data of the stream's `state` message. */
export const executionStatusBodySchema = z.object({
  execution: executionViewSchema,
  health: healthSchema,
  tasks: z.array(statusTaskSchema),
  metrics: metricsSchema,
});

export type Health = z.infer<typeof healthSchema>;
export type Metrics = z.infer<typeof metricsSchema>;
export type TaskView = z.infer<typeof taskViewSchema>;
export type StatusTask = z.infer<typeof statusTaskSchema>;
export type ExecutionView = z.infer<typeof executionViewSchema>;
export interface ExecutionStatusBody<Tasks = StatusTask[]> {
  execution: ExecutionView;
  health: Health;
  tasks: Tasks;
  metrics: Metrics;
}
