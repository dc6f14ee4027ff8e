/**
 * Statuses and enumerations, defined once: the check constraints, the zod schemas and the
 * browser (through `@strata/db/enums`, which imports nothing) all use these lists.
 */
export const EXECUTION_STATUSES = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export const TASK_STATUSES = ['pending', 'assigned', 'in_progress', 'completed', 'failed', 'skipped'] as const;
export const PRIORITIES = ['high', 'medium', 'low'] as const;
export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;
export const AGENT_TYPES = ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination'] as const;
export const ON_TASK_FAILURE = ['fail', 'continue'] as const;
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
