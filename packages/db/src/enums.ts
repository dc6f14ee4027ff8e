/**
 * Statuses and enumerations, defined once: the check constraints, the zod schemas and the
 * browser (through `@strata/db/enums`, which imports nothing) all use these lists.
 */
export const EXECUTION_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export const TASK_STATUSES = ['pending', 'assigned', 'in_progress', 'completed', 'failed', 'skipped'] as const;
export const PRIORITIES = ['high', 'medium', 'low'] as const;
export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;
export const AGENT_TYPES = ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination', 'approval', 'strategy'] as const;
export const ON_TASK_FAILURE = ['fail', 'continue'] as const;
/**
 * How an execution was started: by a call, by one of its workspace's schedules, as a re-run of an
 * earlier execution, or by a `strategy` task of another execution (a child execution).
 */
export const EXECUTION_TRIGGERS = ['api', 'schedule', 'retry', 'parent'] as const;
/** What became of one tick of a schedule: it started an execution, it was missed while nothing ran, or its start was refused. */
export const SCHEDULE_RUN_STATUSES = ['started', 'missed', 'failed'] as const;
/** A person's decision on an approval task: waiting for it, given either way, or not given in time (its `onTimeout` decides). */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'timed_out'] as const;
/** What an approval that nobody answered in time becomes. */
export const APPROVAL_ON_TIMEOUT = ['reject', 'approve'] as const;
/** What a webhook can be sent: an execution's end, its health score first below the webhook's threshold, an approval asked for. */
export const WEBHOOK_EVENT_TYPES = ['execution.completed', 'execution.failed', 'execution.cancelled', 'execution.health_below', 'approval.requested'] as const;
/** What a delivery carries: a webhook event, or the test a person sends from the dashboard or the API. */
export const WEBHOOK_DELIVERY_TYPES = [...WEBHOOK_EVENT_TYPES, 'webhook.test'] as const;
/** A delivery is pending until a 2xx answer (succeeded) or until its retries run out (failed). */
export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export const EVENT_TYPES = [
  'execution-started',
  'task-assigned',
  'task-progress',
  'task-completed',
  'task-failed',
  'health-update',
  'metrics-update',
  'execution-paused',
  'execution-resumed',
  'execution-completed',
  'execution-cancelled',
  'error',
] as const;

export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type Role = (typeof ROLES)[number];
export type AgentType = (typeof AGENT_TYPES)[number];
export type EventType = (typeof EVENT_TYPES)[number];
export type OnTaskFailure = (typeof ON_TASK_FAILURE)[number];

export type ExecutionTrigger = (typeof EXECUTION_TRIGGERS)[number];
export type ScheduleRunStatus = (typeof SCHEDULE_RUN_STATUSES)[number];
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type ApprovalOnTimeout = (typeof APPROVAL_ON_TIMEOUT)[number];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export type WebhookDeliveryType = (typeof WEBHOOK_DELIVERY_TYPES)[number];
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
