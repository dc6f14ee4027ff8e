import { PASSWORD_MAX_LENGTH } from '@strata/auth';
import { EXECUTION_STATUSES, ROLES } from '@strata/db';
import { analyticsRangeFields, APPROVAL_LIMITS, ERROR_PATTERN_LIMITS, signalNameSchema, toAnalyticsRange, signalPayloadSchema, strategyFields, workspaceLimitsSchema } from '@strata/engine';
import { RETRY_MODES, TASK_INCLUDES } from '@strata/engine/contract';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_LIMITS } from '@strata/engine/webhook-contract';
import { z } from 'zod';

/** Request schemas, defined once: tRPC validates with them and the OpenAPI document is generated from them. */
const id = (name: string) => z.string().trim().min(1, `${name} is required`).max(200);

/**
 * Passwords are only bounded here (a cheap refusal of huge bodies); @strata/auth's policy
 * (length, blank, the 10,000 most common) judges new ones, so one rule speaks for every surface.
 */
const password = z.string().max(PASSWORD_MAX_LENGTH);

export const signupInput = z.object({
  email: z.string().max(320),
  password,
  name: z.string().trim().max(200).optional(),
});
export const loginInput = z.object({ email: z.string().max(320), password });
export const changePasswordInput = z.object({ currentPassword: password, newPassword: password });

export const createWorkspaceInput = z.object({ name: z.string().trim().min(1, 'name is required').max(200) });
/** Adding a member invites them: the same answer whether or not the email has an account. */
export const addMemberInput = z.object({ workspaceId: id('workspaceId'), email: z.string().max(320), role: z.enum(ROLES) });
export const memberInput = z.object({ workspaceId: id('workspaceId'), userId: id('userId') });
export const changeRoleInput = memberInput.extend({ role: z.enum(ROLES) });
export const workspaceInvitationInput = z.object({ workspaceId: id('workspaceId'), invitationId: id('invitationId') });
export const invitationIdInput = z.object({ id: id('id') });

export const createTokenInput = z.object({
  name: z.string().trim().min(1, 'name is required').max(200),
  workspaceId: id('workspaceId').optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export const tokenIdInput = z.object({ id: id('id') });
/** Without a workspace: all of the caller's tokens; with one: those bound to it. */
export const listTokensInput = z.object({ workspaceId: id('workspaceId').optional() }).optional();

export const createStrategyInput = z.object({
  workspaceId: id('workspaceId'),
  ...strategyFields,
  onTaskFailure: z.enum(['fail', 'continue']).optional(),
});
export const strategyIdInput = z.object({ id: id('id') });
/** `?version=N`: one version of the strategy instead of the latest. */
export const getStrategyInput = strategyIdInput.extend({ version: z.coerce.number().int().min(1).max(2_147_483_647).optional() });
/** An edit: the whole new definition; `baseVersion`, when given, must still be the latest (else 409, nothing changes). */
export const updateStrategyInput = z.object({
  id: id('id'),
  ...strategyFields,
  onTaskFailure: z.enum(['fail', 'continue']).optional(),
  baseVersion: z.number().int().min(1).max(2_147_483_647).optional(),
});
export const workspaceIdInput = z.object({ workspaceId: id('workspaceId') });
/** `PUT /api/workspaces/:id/limits`: the whole set of a workspace's limits per agent type (the engine's schema). */
export const setWorkspaceLimitsInput = workspaceLimitsSchema.extend({ workspaceId: id('workspaceId') });

/** An execution's parameters: an object, checked against the strategy version's inputSchema by the engine. */
export const executionParametersInput = z.record(z.string(), z.unknown(), { error: 'must be an object' });
export const startExecutionInput = z.object({
  strategyId: id('strategyId'),
  workspaceId: id('workspaceId'),
  input: executionParametersInput.optional().meta({ description: "Parameters, valid against the strategy's inputSchema (a strategy without one takes none)" }),
});
export const executionIdInput = z.object({ id: id('id') });
/** A re-run of a failed or cancelled execution: `failed` carries over what completed, `all` runs everything again. */
export const retryExecutionInput = executionIdInput.extend({
  mode: z
    .enum(RETRY_MODES, { error: `must be one of ${RETRY_MODES.join(', ')}` })
    .default('failed')
    .meta({ description: '`failed` (default): tasks that completed in the original are carried over (not run again) and the rest run; `all`: every task runs again' }),
});
/**
 * What the status body's tasks carry beyond the seed's fields: `detail`, `results`, or both (an
 * array, or over REST a comma list: `include=detail,results`).
 */
export const taskIncludeInput = z
  .preprocess(
    (v) => (typeof v === 'string' ? (v === '' ? [] : v.split(',')) : v),
    z.array(z.enum(TASK_INCLUDES, { error: (issue) => `${JSON.stringify(String(issue.input).slice(0, 40))} is not one of ${TASK_INCLUDES.join(', ')}` })).max(TASK_INCLUDES.length * 2),
  )
  .optional()
  .meta({ description: `Task fields beyond the seed's: ${TASK_INCLUDES.join(', ')}, or both separated by a comma (results: each task's result and progress)` });
export const executionStatusInput = executionIdInput.extend({ include: taskIncludeInput });
export const executionTaskInput = executionIdInput.extend({ taskId: id('taskId') });
const executionStatus = z.enum(EXECUTION_STATUSES);
export const listExecutionsInput = z.object({
  workspaceId: id('workspaceId'),
  /** One status, several (an array, or over REST a comma list: `status=running,paused`). */
  status: z
    .preprocess((v) => (typeof v === 'string' && v.includes(',') ? v.split(',') : v), z.union([executionStatus, z.array(executionStatus).min(1).max(EXECUTION_STATUSES.length)]))
    .optional()
    .meta({ description: `One of ${EXECUTION_STATUSES.join(', ')}, or several separated by commas` }),
  /** Part of an execution id or a strategy name. */
  q: z.string().trim().max(200).optional().meta({ description: 'Part of an execution id or of its strategy’s name (case-insensitive)' }),
  /** The children of one execution (those its `strategy` tasks started). */
  parentExecutionId: id('parentExecutionId').optional().meta({ description: 'Only the child executions this execution started (its strategy tasks)' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export const listOutboxInput = z.object({
  workspaceId: id('workspaceId'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** `approve` / `reject`: the task of the execution, and an optional comment kept with the answer. */
export const answerApprovalInput = executionIdInput.extend({
  taskId: id('taskId'),
  comment: z.string().trim().max(APPROVAL_LIMITS.commentMaxChars).optional().meta({ description: `Kept with the answer and given to the task (at most ${APPROVAL_LIMITS.commentMaxChars} characters)` }),
});
/** The pending approvals of a workspace, or of one of its executions. */
export const listApprovalsInput = z.object({
  workspaceId: id('workspaceId'),
  executionId: id('executionId').optional().meta({ description: 'Only the approvals of this execution' }),
});
export const sendSignalInput = executionIdInput.extend({
  name: signalNameSchema.meta({ description: 'What waiting tasks name in waitForSignal: 1–100 letters, digits and _ . : -' }),
  payload: signalPayloadSchema.optional().meta({ description: 'Any JSON value, at most 64 KiB: the result a waiting task completes with' }),
});
/** A schedule's timing and parameters; cron, timezone and input are checked by the engine (400 naming the field). */
const scheduleFields = {
  cron: z.string().max(200).optional().meta({ description: 'Five-field cron expression (minute hour day-of-month month day-of-week), read in `timezone`; or a nickname such as @daily. Exactly one of cron and runAt.' }),
  runAt: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, such as 2026-12-05T09:00:00Z or 2026-12-05T10:00:00+01:00' })
    .optional()
    .meta({ description: 'A one-off time, ISO 8601 with an offset. Exactly one of cron and runAt.' }),
  timezone: z.string().max(64).optional().meta({ description: 'IANA time zone name the cron expression is read in (default UTC)' }),
  input: executionParametersInput.optional().meta({ description: "Parameters each execution starts with, valid against the strategy's latest inputSchema" }),
  enabled: z.boolean().optional().meta({ description: 'Default true; a disabled schedule has no nextRunAt' }),
};
export const createScheduleInput = z.object({ workspaceId: id('workspaceId'), strategyId: id('strategyId'), ...scheduleFields });
export const scheduleIdInput = z.object({ id: id('id') });
export const updateScheduleInput = z.object({ id: id('id'), ...scheduleFields });
export const listSchedulesInput = z.object({
  workspaceId: id('workspaceId'),
  strategyId: id('strategyId').optional().meta({ description: "Only this strategy's schedules" }),
});
export const scheduleRunsInput = z.object({ id: id('id'), limit: z.coerce.number().int().min(1).max(500).default(50) });

/** `?workspaceId=&from=&to=`: a workspace's analytics over whole UTC days (the engine's range rule). */
export const analyticsQuery = z.object({ workspaceId: id('workspaceId'), ...analyticsRangeFields });
/** `&limit=`: how many error patterns to list, the most frequent first. */
export const errorPatternLimit = z.coerce
  .number({ error: 'must be a whole number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(ERROR_PATTERN_LIMITS.max, `must be at most ${ERROR_PATTERN_LIMITS.max}`)
  .default(ERROR_PATTERN_LIMITS.default)
  .meta({ description: `Error patterns listed, the most frequent first (default ${ERROR_PATTERN_LIMITS.default}, at most ${ERROR_PATTERN_LIMITS.max})` });
export const analyticsErrorsQuery = analyticsQuery.extend({ limit: errorPatternLimit });
const withRange = <T extends { from?: string | undefined; to?: string | undefined }>({ from, to, ...rest }: T, ctx: z.RefinementCtx) => ({ ...rest, range: toAnalyticsRange({ from, to }, ctx) });
export const analyticsInput = analyticsQuery.transform(withRange);
export const analyticsErrorsInput = analyticsErrorsQuery.transform(withRange);
/** A webhook: the engine checks the URL (http(s), length, private addresses) and names the field on refusal. */
export const createWebhookInput = z.object({
  workspaceId: id('workspaceId'),
  url: z
    .string({ error: 'url is required' })
    .max(WEBHOOK_LIMITS.urlMaxChars + 100)
    .meta({ description: `An http:// or https:// URL, at most ${WEBHOOK_LIMITS.urlMaxChars} characters; not a private or internal address unless allowed (WEBHOOK_ALLOW_HOSTS)` }),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES, { error: (issue) => `${JSON.stringify(String(issue.input).slice(0, 60))} is not one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }), { error: 'must be a list of event types' })
    .min(1, `choose at least one of ${WEBHOOK_EVENT_TYPES.join(', ')}`)
    .max(WEBHOOK_EVENT_TYPES.length * 2)
    .meta({ description: `The events sent: ${WEBHOOK_EVENT_TYPES.join(', ')}` }),
  healthThreshold: z
    .number({ error: 'must be a whole number from 0 to 100' })
    .int('must be a whole number from 0 to 100')
    .min(0, 'must be a whole number from 0 to 100')
    .max(100, 'must be a whole number from 0 to 100')
    .optional()
    .meta({ description: `execution.health_below is sent when the health score first drops below this (default ${WEBHOOK_LIMITS.defaultHealthThreshold})` }),
});
export const webhookIdInput = z.object({ id: id('id') });
export const listWebhooksInput = z.object({ workspaceId: id('workspaceId') });
export const webhookDeliveriesInput = z.object({
  id: id('id'),
  limit: z.coerce.number().int().min(1).max(WEBHOOK_LIMITS.deliveriesPageMax).default(50),
  cursor: z.string().max(500).optional().meta({ description: 'nextCursor of the previous page' }),
});
