import type { AgentCatalogEntry } from '@strata/engine';
import { AGENT_TYPES, APPROVAL_ON_TIMEOUT, APPROVAL_STATUSES, EXECUTION_STATUSES, INVITATION_STATUSES, ON_TASK_FAILURE, PRIORITIES, ROLES } from '@strata/db';
import { executionStatusBodySchema, executionViewSchema, TASK_INCLUDES, taskViewSchema } from '@strata/engine/contract';
import { SCHEDULE_LIMITS, scheduleRunViewSchema, scheduleViewSchema } from '@strata/engine/schedule-contract';
import {
  createdWebhookSchema,
  WEBHOOK_LIMITS,
  WEBHOOK_SIGNATURE_TOLERANCE_SECONDS,
  webhookDeliveryViewSchema,
  webhookViewSchema,
} from '@strata/engine/webhook-contract';
import { z } from 'zod';
import { ROUTES } from './rest/routes.ts';
import * as input from './schemas.ts';

/** Response bodies of the seed's endpoints, described for the document (the procedures build them). */
const errorBody = z.object({
  error: z.string(),
  field: z.string().optional().meta({ description: 'On a 400: the request field the error concerns, as a path into the body (`items[2].dependsOn[0]`, `items[0].input.to`)' }),
});
const startResponse = z.object({
  success: z.literal(true),
  executionId: z.string(),
  message: z.string(),
  execution: z.object({ id: z.string(), status: z.enum(EXECUTION_STATUSES), strategyId: z.string(), startedAt: z.string().nullable(), totalTasks: z.number().int() }),
});
const retryResponse = startResponse.extend({ retryOf: z.string().meta({ description: 'The execution re-run; the new one is `executionId`' }) });
const controlResponse = z.object({ success: z.literal(true), message: z.string(), execution: z.object({ id: z.string(), status: z.enum(EXECUTION_STATUSES) }) });
const streamTicketResponse = z.object({
  ticket: z.string().meta({ description: 'For `?access_token=` on GET /api/executions/{id}/stream (WebSocket or SSE): this execution only, once, within 60 s' }),
  expiresAt: z.string(),
});
/** The status body is the execution contract's (packages/engine/src/contract.ts), not a copy. */
const statusResponse = executionStatusBodySchema;

const invitation = z.object({
  id: z.string(),
  workspaceId: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  status: z.enum(INVITATION_STATUSES),
  expiresAt: z.string(),
});
const member = z.object({ userId: z.string(), email: z.string(), name: z.string().nullable(), role: z.enum(ROLES), joinedAt: z.string() });
const success = z.object({ success: z.literal(true) });

const inputSchemaDoc = z
  .record(z.string(), z.unknown())
  .nullable()
  .meta({ description: "JSON Schema (draft 2020-12) of an execution's input in this version; null: it takes none" });
const strategyItem = z.object({
  id: z.string(),
  key: z.string(),
  description: z.string(),
  agentType: z.string(),
  priority: z.enum(PRIORITIES),
  dependsOn: z.array(z.string()),
  input: z.record(z.string(), z.unknown()),
  maxRetries: z.number().int(),
  timeoutSeconds: z.number().int(),
  l1: z.string().nullable(),
  l2: z.string().nullable(),
  l3: z.string().nullable(),
  concurrencyKey: z.string().nullable().meta({ description: "A template over the item's input (`{{to}}`, `{{url.host}}`, `{{input.customer}}`): its tasks share keyConcurrency / keyPerMinute with every task of the workspace whose key resolves the same" }),
  keyConcurrency: z.number().int().nullable(),
  keyPerMinute: z.number().int().nullable(),
});
const maxConcurrencyDoc = z.number().int().nullable().meta({ description: 'At most this many tasks of one execution in progress at once; null: no cap. Each execution keeps the value of the version it started with.' });
const strategyView = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  onTaskFailure: z.enum(ON_TASK_FAILURE),
  createdAt: z.string(),
  version: z.number().int().meta({ description: 'The version shown (the latest unless `?version=` asked for another)' }),
  latestVersion: z.number().int(),
  versionCreatedAt: z.string(),
  archivedAt: z.string().nullable(),
  inputSchema: inputSchemaDoc,
  maxConcurrency: maxConcurrencyDoc,
  items: z.array(strategyItem),
});
const strategyListItem = strategyView.pick({ id: true, workspaceId: true, name: true, description: true, onTaskFailure: true, createdAt: true, version: true, inputSchema: true }).extend({
  itemCount: z.number().int(),
  updatedAt: z.string(),
});
const strategyVersion = z.object({
  version: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  onTaskFailure: z.enum(ON_TASK_FAILURE),
  itemCount: z.number().int(),
  inputSchema: inputSchemaDoc,
  maxConcurrency: maxConcurrencyDoc,
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
const agentLimit = z.object({
  concurrency: z.number().int().nullable().meta({ description: 'At most this many tasks of the type in progress at once in the workspace, across every worker process; null: unlimited' }),
  perMinute: z.number().int().nullable().meta({ description: 'At most this many starts of the type in any rolling minute (windowSeconds); null: unlimited' }),
});
const workspaceLimits = z.object({
  workspaceId: z.string(),
  agents: z.record(z.string(), agentLimit).meta({ description: 'Per agent type; a type not listed is unlimited' }),
  windowSeconds: z.number().meta({ description: 'The rolling window of perMinute limits (60)' }),
});
const limitsExample = { workspaceId: 'ws_123', agents: { email: { concurrency: 2, perMinute: 30 } }, windowSeconds: 60 };
const agentEntry = z.object({
  type: z.string(),
  description: z.string().nullable(),
  inputSchema: z.record(z.string(), z.unknown()).nullable().meta({ description: "JSON Schema (draft 2020-12) of the agent's input; null when it takes any object" }),
  example: z.record(z.string(), z.unknown()).nullable(),
});

const analyticsRange = z.object({
  from: z.string(),
  to: z.string(),
  days: z.number().int(),
  timezone: z.literal('UTC').meta({ description: 'Days are UTC days: the same link shows everyone the same numbers' }),
});
const executionCounts = z.object({
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  finished: z.number().int().meta({ description: 'completed + failed + cancelled' }),
  successRate: z.number().nullable().meta({ description: 'completed / finished, 0–1 to 4 places; null when none finished' }),
  averageHealth: z.number().nullable().meta({ description: 'Mean of the health scores (0–100) the executions ended with, to 1 place; null when none' }),
});
const executionAnalytics = z.object({
  totals: executionCounts,
  days: z.array(executionCounts.extend({ date: z.string() })).meta({ description: 'Every day of the range, oldest first, empty days as zeros' }),
});
const taskAnalytics = z.object({
  agents: z.array(
    z.object({
      agentType: z.enum(AGENT_TYPES),
      finished: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
      averageMs: z.number().meta({ description: 'Mean of completed_at − started_at (the last attempt), whole ms' }),
      p95Ms: z.number().meta({ description: '95th percentile of the same (linear interpolation), whole ms' }),
    }),
  ),
});
const errorAnalytics = z.object({
  failedTasks: z.number().int().meta({ description: 'Failed tasks in the range, every pattern' }),
  patternCount: z.number().int(),
  patterns: z.array(
    z.object({
      pattern: z.string().meta({ description: 'The error with Strata ids as <id>, UUIDs as <uuid>, numbers as <n>, white space collapsed' }),
      count: z.number().int(),
      example: z.string(),
      lastSeenAt: z.string(),
      agentTypes: z.array(z.enum(AGENT_TYPES)),
    }),
  ),
});
const queueAnalytics = z.object({
  asOf: z.string(),
  queues: z.array(
    z.object({
      agentType: z.enum(AGENT_TYPES),
      ready: z.number().int().meta({ description: "Jobs due in the server's agent queue (shared by every workspace)" }),
      delayed: z.number().int().meta({ description: 'Jobs waiting for a later start (a retry backoff)' }),
      active: z.number().int().meta({ description: 'Jobs a worker holds' }),
      oldestReadyAgeSeconds: z.number(),
      workspaceQueued: z.number().int().meta({ description: "This workspace's tasks queued for a worker" }),
      workspaceThrottled: z.number().int().meta({ description: "This workspace's tasks held by a limit" }),
      workspaceRunning: z.number().int(),
      workspaceWaiting: z.number().int().meta({ description: 'In progress, waiting for an approval, a signal or a child execution' }),
    }),
  ),
});
const ANALYTICS_DOC =
  'Any member of the workspace (viewers too). `from` and `to` are whole UTC days (YYYY-MM-DD), both included: the range is [from 00:00Z, the day after to 00:00Z); ' +
  'defaults: the last 30 days, today included. A day that is not a date, `from` after `to`, or more than 366 days: 400 naming the field. ' +
  'Executions count on the day they finished (completed, failed or cancelled); tasks on the day they finished (completed or failed). Everything is aggregated by PostgreSQL.';

const answerer = z.object({ id: z.string(), name: z.string().nullable(), email: z.string() }).meta({ description: 'Who answered' });
const approvalView = z.object({
  executionId: z.string(),
  taskId: z.string(),
  status: z.enum(APPROVAL_STATUSES),
  prompt: z.string(),
  details: z.unknown(),
  onTimeout: z.enum(APPROVAL_ON_TIMEOUT),
  timeoutAt: z.string().nullable(),
  by: answerer.nullable(),
  comment: z.string().nullable(),
  answeredAt: z.string().nullable(),
  createdAt: z.string(),
});
const answerResponse = z.object({ success: z.literal(true), message: z.string(), approval: approvalView });
const pendingApproval = z.object({
  executionId: z.string(),
  executionStatus: z.enum(EXECUTION_STATUSES),
  strategyId: z.string(),
  strategyName: z.string().nullable(),
  taskId: z.string(),
  taskKey: z.string(),
  taskDescription: z.string(),
  prompt: z.string(),
  details: z.unknown(),
  since: z.string().meta({ description: 'When the task asked' }),
  timeoutAt: z.string().nullable().meta({ description: 'When onTimeout decides; null: no timeout' }),
  onTimeout: z.enum(APPROVAL_ON_TIMEOUT),
});
const signalResponse = z.object({
  signal: z.object({ id: z.number().int(), executionId: z.string(), name: z.string(), createdAt: z.string() }),
  waiters: z.number().int().meta({ description: 'Tasks waiting for this name that receive it (now, or at resume when the execution is paused)' }),
});
const APPROVAL_ANSWER_DOC =
  'Operator or above (an API token acts with its user’s role). The task must be an `approval` task waiting for its answer; a running execution’s task goes on at once, a paused one’s at resume. ' +
  'Approved, the task completes with `{ approved, by, at, comment, timedOut }`; rejected, it fails without retries and the execution follows its onTaskFailure. ' +
  '404: unknown execution or task. 409: already answered or timed out, the task is not asking (not an approval task, or not started yet), or the execution has ended. Counted by the control rate limit.';

/** approve and reject: the same body and answer. */
const answerDoc = (summary: string, comment: string): OperationDoc => ({
  summary,
  description: APPROVAL_ANSWER_DOC,
  body: input.answerApprovalInput.pick({ comment: true }),
  bodyExample: { comment },
  response: answerResponse,
});

/**
 * What the document says about one REST call beyond its route: request body, query, response,
 * examples, extra headers. Keyed `METHOD /path` as in rest/routes.ts; add an entry with a route.
 */
export interface OperationDoc {
  summary?: string;
  description?: string;
  body?: z.ZodType;
  bodyExample?: unknown;
  query?: z.ZodObject;
  response?: z.ZodType;
  responseExample?: unknown;
  /** Request headers beyond the credentials (e.g. Idempotency-Key). */
  headers?: object[];
  /** False when the body may be left out (every field optional). */
  bodyRequired?: boolean;
}

const EXEC_ID = 'exec_1732608000000_abc123';
const idempotencyKeyHeader = (what: string, example: string) => ({
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: `Any 1–255 characters. A repeat within 24 h with the same body returns the first ${what} instead of starting another; with a different body: 409; while the first is still starting: 409.`,
  schema: { type: 'string', minLength: 1, maxLength: 255 },
  example,
});
const scheduleExample = {
  id: 'sched_4f9k2m7q1x8d3a6b',
  workspaceId: 'ws_123',
  strategyId: 'strat_456',
  strategyName: 'Weekly newsletter',
  cron: '0 9 * * MON',
  runAt: null,
  timezone: 'Europe/Berlin',
  input: { audience: 'customers' },
  enabled: true,
  nextRunAt: '2026-12-07T08:00:00.000Z',
  lastRunAt: '2026-11-30T08:00:00.000Z',
  lastExecutionId: EXEC_ID,
  createdBy: 'usr_123',
  createdAt: '2026-11-01T10:00:00.000Z',
  updatedAt: '2026-11-30T08:00:00.012Z',
};
const SCHEDULE_RULES =
  'Exactly one of `cron` (five fields, standard syntax, read in `timezone`; DST as Vixie cron: a fixed time in a spring-forward gap runs once right after it, one in a repeated hour runs once; a job with `*` or a step in its minute or hour field runs at every time that exists) ' +
  'and `runAt` (a one-off, ISO 8601 with an offset; it fires within 2 s of its time, then has no nextRunAt and is disabled). ' +
  "`timezone`: an IANA name (default UTC). `input`: valid against the strategy's latest inputSchema. Each refusal is a 400 naming the field (`field`). " +
  `A workspace has at most ${SCHEDULE_LIMITS.enabledPerWorkspace} enabled schedules (409 past it); an archived strategy cannot be scheduled (409).`;
const webhookExample = {
  id: 'whk_4f9k2m7q1x8d3a6b',
  workspaceId: 'ws_123',
  url: 'https://hooks.example.com/strata',
  events: ['execution.failed', 'execution.health_below'],
  healthThreshold: 60,
  createdBy: 'usr_123',
  createdAt: '2026-11-01T10:00:00.000Z',
};
const deliveryExample = {
  id: 'whd_0b6f4c3e2a1d4f5e8c7b9a0d1e2f3a4b',
  webhookId: webhookExample.id,
  type: 'execution.failed',
  executionId: EXEC_ID,
  status: 'pending',
  attempts: 1,
  lastStatusCode: 500,
  lastError: 'The endpoint answered HTTP 500',
  lastAttemptAt: '2026-11-30T08:00:00.120Z',
  nextAttemptAt: '2026-11-30T08:00:30.120Z',
  completedAt: null,
  createdAt: '2026-11-30T08:00:00.004Z',
};
const WEBHOOK_RULES =
  'Admins and owners only (reads too: a URL may carry a token of the receiving service). ' +
  'Events: `execution.completed`, `execution.failed`, `execution.cancelled`, `execution.health_below` (the first time an execution’s health score drops below `healthThreshold`, default 60; once per execution) and `approval.requested`. ' +
  'Each delivery is a POST of `{ id, type, createdAt, workspaceId, data }` with `Strata-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the secret; ' +
  `receivers should refuse a signature more than ${WEBHOOK_SIGNATURE_TOLERANCE_SECONDS} s from their clock. A 2xx answer succeeds; anything else is retried (30 s doubling to 4 h, for 24 h). ` +
  'Private or internal addresses are refused (a literal one or localhost at creation: 400; a name resolving to one at delivery: the delivery fails unsent) unless the host is in WEBHOOK_ALLOW_HOSTS.';
const controlExample = (status: string, message: string) => ({ success: true, message, execution: { id: EXEC_ID, status } });

export const OPERATIONS: Record<string, OperationDoc> = {
  'POST /api/auth/signup': { summary: 'Create an account', body: input.signupInput, bodyExample: { email: 'ada@example.com', password: 'a long passphrase', name: 'Ada' } },
  'POST /api/auth/login': { summary: 'Log in', body: input.loginInput, bodyExample: { email: 'ada@example.com', password: 'a long passphrase' } },
  'POST /api/auth/logout': { summary: 'Log out (ends the session)' },
  'POST /api/auth/password': { summary: 'Change your password', body: input.changePasswordInput, response: success, responseExample: { success: true } },
  'GET /api/me': { summary: 'You and your workspaces' },
  'POST /api/workspaces': { summary: 'Create a workspace (you become its owner)', body: input.createWorkspaceInput, bodyExample: { name: 'Marketing' } },
  'GET /api/workspaces': { summary: 'Your workspaces' },
  'POST /api/workspaces/:id/members': {
    summary: 'Invite a member (owner or admin)',
    body: input.addMemberInput.omit({ workspaceId: true }),
    bodyExample: { email: 'grace@example.com', role: 'operator' },
    response: z.object({ invitation }),
  },
  'GET /api/workspaces/:id/members': { summary: 'Members and open invitations', response: z.object({ members: z.array(member), invitations: z.array(invitation.extend({ createdAt: z.string() })) }) },
  'PATCH /api/workspaces/:id/members/:userId': { summary: "Change a member's role", body: input.changeRoleInput.omit({ workspaceId: true, userId: true }), bodyExample: { role: 'viewer' }, response: z.object({ member }) },
  'DELETE /api/workspaces/:id/members/:userId': { summary: 'Remove a member', response: success },
  'GET /api/workspaces/:id/limits': { summary: "The workspace's limits per agent type (any member)", response: workspaceLimits, responseExample: limitsExample },
  'PUT /api/workspaces/:id/limits': {
    summary: "Replace the workspace's limits per agent type (admin)",
    description:
      'At most `concurrency` tasks of an agent type in progress at once and at most `perMinute` starts in any rolling minute, across every worker process. ' +
      'The body is the whole set: a type left out (or with both null) is unlimited. A task over a limit waits without a worker slot and without using an attempt; ' +
      'its progress (and a `task-progress` event) says `{ status: "throttled", limit, agentType, max, retryAt? }`. Tasks already running count against a new limit. ' +
      'Unknown agent type, a value that is not a positive integer, or above 10,000 (concurrency) / 100,000 (perMinute): 400 naming the field.',
    body: input.setWorkspaceLimitsInput.omit({ workspaceId: true }),
    bodyExample: { agents: { email: { concurrency: 2, perMinute: 30 }, research: { perMinute: 120 } } },
    response: workspaceLimits,
    responseExample: limitsExample,
  },
  'DELETE /api/workspaces/:id/invitations/:invitationId': { summary: 'Revoke an invitation', response: z.object({ invitation }) },
  'GET /api/invitations': {
    summary: 'Invitations addressed to you',
    response: z.object({
      invitations: z.array(
        invitation.extend({
          createdAt: z.string(),
          workspace: z.object({ id: z.string(), name: z.string() }),
          invitedBy: z.object({ name: z.string().nullable(), email: z.string() }).nullable(),
        }),
      ),
    }),
  },
  'POST /api/invitations/:id/accept': { summary: 'Accept an invitation', response: z.object({ invitation, workspace: z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES) }) }) },
  'POST /api/invitations/:id/decline': { summary: 'Decline an invitation', response: z.object({ invitation }) },
  'POST /api/tokens': {
    summary: 'Create an API token (shown once)',
    description: 'Only from a signed-in session: an API token cannot mint tokens. The `token` in the answer is shown this once; only its hash is stored.',
    body: input.createTokenInput,
    bodyExample: { name: 'CI deploys', expiresInDays: 90 },
  },
  'GET /api/tokens': { summary: 'Your API tokens (never the secrets), with when each was last used', query: z.object({ workspaceId: z.string().optional().meta({ description: 'Only the tokens bound to this workspace' }) }) },
  'DELETE /api/tokens/:id': { summary: 'Revoke an API token (it stops working at once)' },
  'POST /api/strategies': {
    summary: 'Create a strategy',
    response: z.object({ strategy: strategyView }),
    description:
      "Each L4 item names an agent type; its `input` must match that agent's input schema (see the `…AgentInput` schemas, or GET /api/agents). " +
      'Unknown agent type, duplicate key, unknown dependency or a dependency cycle: 400 naming the item or the cycle. ' +
      '`maxConcurrency` caps the tasks of one execution in progress at once. An item may set `concurrencyKey`, a template over its input (`{{to}}`, `{{url.host}}`: the host name of a URL, without port; `{{input.customer}}`: a parameter), ' +
      'with `keyConcurrency` and/or `keyPerMinute`: every task of the workspace whose key resolves the same shares them. A key without a limit, a limit without a key, or a key its input cannot fill: 400 naming `items[i].concurrencyKey` (or the limit).',
    body: input.createStrategyInput,
    bodyExample: {
      workspaceId: 'ws_123',
      name: 'Launch a newsletter',
      items: [
        { key: 'research', description: 'Research the market', agentType: 'research', priority: 'high', input: { urls: ['https://example.com/'] } },
        { key: 'announce', description: 'Write the announcement', agentType: 'content', dependsOn: ['research'], input: { prompt: 'Announce our newsletter' } },
      ],
    },
  },
  'GET /api/strategies': { summary: "A workspace's strategies (archived ones left out)", query: input.workspaceIdInput, response: z.object({ strategies: z.array(strategyListItem) }) },
  'GET /api/strategies/:id': {
    summary: 'One strategy with its items',
    description: 'The latest version of a strategy (with `version`), or the one `?version=N` names. Archived strategies stay readable (`archivedAt`).',
    query: input.getStrategyInput.pick({ version: true }),
    response: z.object({ strategy: strategyView }),
  },
  'PUT /api/strategies/:id': {
    summary: "Edit a strategy (a new version)",
    description:
      'Replaces the definition (admin), writing the next immutable version; validated as at creation, a refused edit changes nothing. `baseVersion`, when given, must still be the latest (else 409). Executions keep the version they started with. An archived strategy cannot be edited (409).',
    body: input.updateStrategyInput.omit({ id: true }),
    response: z.object({ strategy: strategyView }),
  },
  'DELETE /api/strategies/:id': {
    summary: 'Archive a strategy',
    description: 'Archives the strategy (admin): it leaves the lists and cannot be started (409) or edited; its versions and executions stay readable. Repeating it is harmless.',
    response: z.object({ success: z.literal(true), strategy: z.object({ id: z.string(), archivedAt: z.string() }) }),
  },
  'GET /api/strategies/:id/versions': { summary: 'Every version of a strategy, newest first', response: z.object({ versions: z.array(strategyVersion) }) },
  'GET /api/agents': {
    summary: 'The agent types this server runs',
    description: 'Every agent type this server runs, built-in and custom (STRATA_AGENT_MODULES), with a description, the JSON Schema of its `input` and an example input.',
    response: z.object({ agents: z.array(agentEntry) }),
  },
  'POST /api/executions/start': {
    summary: 'Start an execution of a strategy',
    description: 'Rate limited per workspace (RATE_LIMIT_START_PER_MIN). Send an `Idempotency-Key` to make retries safe.',
    body: input.startExecutionInput,
    bodyExample: { strategyId: 'strat_456', workspaceId: 'ws_123' },
    response: startResponse,
    responseExample: {
      success: true,
      executionId: EXEC_ID,
      message: 'Strategy execution started',
      execution: { id: EXEC_ID, status: 'running', strategyId: 'strat_456', startedAt: '2025-11-26T20:00:00.000Z', totalTasks: 25 },
    },
    headers: [idempotencyKeyHeader('execution', 'start-2025-11-26-newsletter')],
  },
  'GET /api/executions': { summary: "A workspace's executions, newest first, a page at a time", query: input.listExecutionsInput },
  'GET /api/executions/:id': { summary: 'One execution, without its tasks (404 unknown, 403 not yours)', response: z.object({ execution: executionViewSchema }) },
  'GET /api/executions/:id/status': {
    summary: "An execution's status, health, tasks and metrics",
    description:
      "Each task carries the seed's fields (id, l4_item_id, execution_id, agent_type, status, priority, description, dependencies, assigned_at, completed_at, error, retry_count, max_retries). " +
      '`include=detail` adds key, started_at, wake_at, skip_reason, reused and throttle (which limit holds a task waiting for one); ' +
      "`include=results` adds each task's result and progress (the agents' output: large, so only on request; one task's is GET /api/executions/{id}/tasks/{taskId}). " +
      'An unknown part is a 400 naming `include`.',
    query: input.executionStatusInput.pick({ include: true }),
    response: statusResponse,
    responseExample: {
      execution: { id: EXEC_ID, status: 'running', strategyId: 'strat_456', startedAt: '2025-11-26T20:00:00.000Z', completedAt: null, totalTasks: 2, completedTasks: 1, failedTasks: 0 },
      health: { score: 100, completionRate: 50, errorRate: 0, lastChecked: '2025-11-26T20:00:05.000Z', issues: [] },
      tasks: [
        {
          id: 'task_1',
          l4_item_id: 'l4_1',
          agent_type: 'research',
          status: 'completed',
          priority: 'high',
          description: 'Research the market',
          assigned_at: '2025-11-26T20:00:00.000Z',
          completed_at: '2025-11-26T20:00:02.000Z',
        },
      ],
      metrics: { totalDuration: 5000, averageTaskDuration: 2000 },
    },
  },
  'GET /api/executions/:id/tasks/:taskId': {
    summary: 'One task of an execution with every field, its result too (404 when the execution has no such task)',
    response: z.object({ task: taskViewSchema }),
    responseExample: {
      task: {
        id: 'task_1',
        l4_item_id: 'l4_1',
        execution_id: EXEC_ID,
        key: 'research',
        agent_type: 'research',
        status: 'completed',
        priority: 'high',
        description: 'Research the market',
        dependencies: [],
        assigned_at: '2025-11-26T20:00:00.000Z',
        started_at: '2025-11-26T20:00:00.500Z',
        completed_at: '2025-11-26T20:00:02.000Z',
        wake_at: null,
        result: { sources: [] },
        error: null,
        progress: null,
        retry_count: 0,
        max_retries: 3,
        skip_reason: null,
        reused: false,
      },
    },
  },
  'POST /api/executions/:id/pause': { summary: 'Pause (running tasks finish, nothing new starts)', response: controlResponse, responseExample: controlExample('paused', 'Execution paused') },
  'POST /api/executions/:id/resume': { summary: 'Resume a paused execution', response: controlResponse, responseExample: controlExample('running', 'Execution resumed') },
  'POST /api/executions/:id/cancel': { summary: 'Cancel (tasks not started are skipped)', response: controlResponse, responseExample: controlExample('cancelled', 'Execution cancelled') },
  'POST /api/executions/:id/retry': {
    summary: 'Re-run a failed or cancelled execution',
    description:
      'Starts a new execution of the same strategy version with the same input (`trigger: retry`, `retryOf` naming this one), operator or above. ' +
      'With `mode: failed` (the default) every task that completed here is carried over: it is completed at once in the new execution with its result copied, `reused: true` (status body with `include=detail`), ' +
      'one `task-completed` event marked `reused` (with `originalTaskId`), and no agent runs for it; the tasks that depend only on carried-over tasks are queued at once, and everything else runs. ' +
      '`mode: all` runs every task again. If every task is carried over, the new execution completes at once. ' +
      '409 when this execution is pending, running, paused or completed, when it is failed or cancelled but its running tasks have not finished yet, or when its strategy is archived. ' +
      'Counted by the start rate limit (RATE_LIMIT_START_PER_MIN); send an `Idempotency-Key` to make retries of this call safe.',
    body: input.retryExecutionInput.omit({ id: true }),
    bodyRequired: false,
    bodyExample: { mode: 'failed' },
    response: retryResponse,
    responseExample: {
      success: true,
      executionId: 'exec_1732608600000_def456',
      message: 'Strategy execution started',
      execution: { id: 'exec_1732608600000_def456', status: 'pending', strategyId: 'strat_456', startedAt: '2025-11-26T20:10:00.000Z', totalTasks: 25 },
      retryOf: EXEC_ID,
    },
    headers: [idempotencyKeyHeader('re-run', 'retry-exec_1732608000000_abc123')],
  },
  'POST /api/executions/:id/stream-ticket': { summary: 'A single-use ticket for opening the stream from a browser', response: streamTicketResponse },
  'POST /api/schedules': {
    summary: 'Schedule a strategy (operator)',
    description: `${SCHEDULE_RULES} Each due tick starts one execution (trigger \`schedule\`), whatever the number of processes; scheduled starts are not counted by the start rate limit.`,
    body: input.createScheduleInput,
    bodyExample: { workspaceId: 'ws_123', strategyId: 'strat_456', cron: '0 9 * * MON', timezone: 'Europe/Berlin', input: { audience: 'customers' } },
    response: z.object({ schedule: scheduleViewSchema }),
    responseExample: { schedule: { ...scheduleExample, lastRunAt: null, lastExecutionId: null } },
  },
  'GET /api/schedules': { summary: "A workspace's schedules, oldest first", query: input.listSchedulesInput, response: z.object({ schedules: z.array(scheduleViewSchema) }) },
  'GET /api/schedules/:id': { summary: 'One schedule', response: z.object({ schedule: scheduleViewSchema }), responseExample: { schedule: scheduleExample } },
  'PATCH /api/schedules/:id': {
    summary: 'Change a schedule (operator)',
    description: `Any of cron, runAt (giving one replaces the other), timezone, input and enabled. A change of timing or of enabled recomputes nextRunAt from now (ticks while disabled are not caught up). ${SCHEDULE_RULES}`,
    body: input.updateScheduleInput.omit({ id: true }),
    bodyExample: { enabled: false },
    response: z.object({ schedule: scheduleViewSchema }),
  },
  'DELETE /api/schedules/:id': { summary: 'Delete a schedule (operator); the executions it started stay', response: success },
  'GET /api/schedules/:id/runs': {
    summary: "A schedule's latest ticks, newest first",
    description: `Each tick: \`started\` (with the execution it started), \`missed\` (it fell while nothing ran: on recovery only the latest tick runs; at most ${SCHEDULE_LIMITS.missedRecorded} missed ones are recorded) or \`failed\` (its start was refused: \`error\` says why, e.g. the strategy was archived or the input no longer fits). The latest ${SCHEDULE_LIMITS.runsKept} ticks are kept.`,
    query: input.scheduleRunsInput.pick({ limit: true }),
    response: z.object({ runs: z.array(scheduleRunViewSchema) }),
    responseExample: { runs: [{ tickAt: '2026-11-30T08:00:00.000Z', status: 'started', executionId: EXEC_ID, error: null, createdAt: '2026-11-30T08:00:00.004Z' }] },
  },
  'GET /api/outbox': { summary: "A workspace's email outbox (mails kept when SMTP_URL is unset)", query: input.listOutboxInput },
  'POST /api/executions/:id/tasks/:taskId/approve': answerDoc('Approve a task waiting for approval', 'Checked the list: go ahead'),
  'POST /api/executions/:id/tasks/:taskId/reject': answerDoc('Reject a task waiting for approval (it fails without retries)', 'Not before the legal review'),
  'GET /api/approvals': {
    summary: "A workspace's approvals waiting for an answer, oldest first",
    description: 'Approval tasks of running and paused executions that wait for an answer and have not timed out (viewers may read them; answering takes operator).',
    query: input.listApprovalsInput,
    response: z.object({ approvals: z.array(pendingApproval) }),
  },
  'GET /api/analytics': {
    summary: "A workspace's analytics over a range: executions, tasks, errors and queues in one answer",
    description: `${ANALYTICS_DOC} The four parts are those of the routes below.`,
    query: input.analyticsErrorsQuery,
    response: z.object({ workspaceId: z.string(), range: analyticsRange, executions: executionAnalytics, tasks: taskAnalytics, errors: errorAnalytics, queues: queueAnalytics }),
  },
  'GET /api/analytics/executions': {
    summary: 'Finished executions per day by final status, success rate and average final health',
    description: `${ANALYTICS_DOC} Success rate: completed / (completed + failed + cancelled).`,
    query: input.analyticsQuery,
    response: executionAnalytics.extend({ workspaceId: z.string(), range: analyticsRange }),
    responseExample: {
      workspaceId: 'ws_123',
      range: { from: '2026-03-01', to: '2026-03-02', days: 2, timezone: 'UTC' },
      totals: { completed: 3, failed: 1, cancelled: 0, finished: 4, successRate: 0.75, averageHealth: 86.5 },
      days: [
        { date: '2026-03-01', completed: 1, failed: 1, cancelled: 0, finished: 2, successRate: 0.5, averageHealth: 73 },
        { date: '2026-03-02', completed: 2, failed: 0, cancelled: 0, finished: 2, successRate: 1, averageHealth: 100 },
      ],
    },
  },
  'GET /api/analytics/tasks': {
    summary: 'Average and p95 task duration per agent type',
    description: `${ANALYTICS_DOC} A duration is the wall time of a task's last attempt (started_at to completed_at); earlier attempts of a retried task are not kept, and tasks carried over by a re-run are left out.`,
    query: input.analyticsQuery,
    response: taskAnalytics.extend({ workspaceId: z.string(), range: analyticsRange }),
  },
  'GET /api/analytics/errors': {
    summary: 'The most frequent error patterns of failed tasks, with counts',
    description: `${ANALYTICS_DOC} A failed task's final error, with Strata ids, UUIDs and numbers replaced so equal errors group.`,
    query: input.analyticsErrorsQuery,
    response: errorAnalytics.extend({ workspaceId: z.string(), range: analyticsRange }),
  },
  'GET /api/analytics/queues': {
    summary: 'Queue depth now, per agent type',
    description: "Any member. The server's agent queues (shared by every workspace) and this workspace's queued, throttled, running and waiting tasks.",
    query: input.workspaceIdInput,
    response: queueAnalytics.extend({ workspaceId: z.string() }),
  },
  'POST /api/webhooks': {
    summary: 'Create a webhook (admin); its signing secret is shown once',
    description: `${WEBHOOK_RULES} At most ${WEBHOOK_LIMITS.perWorkspace} webhooks per workspace; the URL at most ${WEBHOOK_LIMITS.urlMaxChars} characters, http or https, without user name or password. Each refusal is a 400 naming the field.`,
    body: input.createWebhookInput,
    bodyExample: { workspaceId: 'ws_123', url: 'https://hooks.example.com/strata', events: ['execution.failed', 'execution.health_below'], healthThreshold: 60 },
    response: z.object({ webhook: createdWebhookSchema }),
    responseExample: { webhook: { ...webhookExample, secret: 'whsec_3k9d0f2m4q7x1z8c5v6b2n0m9l4k3j2h' } },
  },
  'GET /api/webhooks': {
    summary: "A workspace's webhooks, oldest first, without their secrets (admin)",
    query: input.listWebhooksInput,
    response: z.object({ webhooks: z.array(webhookViewSchema) }),
    responseExample: { webhooks: [webhookExample] },
  },
  'DELETE /api/webhooks/:id': { summary: 'Delete a webhook and its deliveries (admin); attempts still queued are dropped', response: success },
  'GET /api/webhooks/:id/deliveries': {
    summary: "A webhook's deliveries, newest first, a page at a time (admin)",
    description: 'Each: pending (attempts go on; `nextAttemptAt`), succeeded (a 2xx answer) or failed (its 24 h of retries ran out, or the address was refused), with the attempts made and the last answer. Pass `nextCursor` as `cursor` for older ones.',
    query: input.webhookDeliveriesInput.omit({ id: true }),
    response: z.object({ deliveries: z.array(webhookDeliveryViewSchema), nextCursor: z.string().nullable() }),
    responseExample: { deliveries: [deliveryExample], nextCursor: null },
  },
  'POST /api/webhooks/:id/test': {
    summary: 'Send a test delivery (admin)',
    description: 'Queues a `webhook.test` delivery, signed and retried like any other, and answers it (pending until sent); follow it in the deliveries list.',
    response: z.object({ delivery: webhookDeliveryViewSchema }),
    responseExample: { delivery: { ...deliveryExample, type: 'webhook.test', executionId: null, attempts: 0, lastStatusCode: null, lastError: null, lastAttemptAt: null, nextAttemptAt: null } },
  },
  'POST /api/executions/:id/signals': {
    summary: 'Send a signal to an execution',
    description:
      'Operator or above (an API token acts with its user’s role). The signal is kept for the execution’s life: every coordination task waiting for its name (`waitForSignal`), now or later, completes with the payload of the first signal of that name; later signals of the same name are kept but change nothing for them. ' +
      'A paused execution’s waiters go on at resume. 404 unknown execution, 409 a finished one; name and payload are limited (400 naming the field). Counted by the control rate limit.',
    body: input.sendSignalInput.omit({ id: true }),
    bodyExample: { name: 'deployed', payload: { version: '2.4', url: 'https://example.com/releases/2.4' } },
    response: signalResponse,
  },
};

/** The error answers, each `{ "error": "..." }`, with the message a client typically sees. */
const ERRORS = [
  ['400', 'Bad request: the body or a parameter is invalid (the message names the field)', 'strategyId: strategyId is required'],
  ['401', 'Missing, expired or revoked credentials', 'Unauthorized'],
  ['403', 'Authenticated, but not allowed in this workspace', 'Access denied'],
  ['404', 'No such resource', 'Execution not found'],
  ['409', 'Impossible in the current state', 'Cannot resume an execution that is completed'],
  ['413', 'Body over 1 MiB', 'Request body too large'],
  ['429', 'Rate limit exceeded (login: too many failed logins); Retry-After says when to come back', 'Rate limit exceeded'],
  ['500', 'Internal server error', 'Internal server error'],
] as const;

/** JSON Schema of a zod schema's input, without the `$schema` line (the document says 3.1 once). */
function schema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
const ERROR_REF = { $ref: '#/components/schemas/Error' };

function errorResponses(kinds: readonly string[]): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [code, description, example] of ERRORS) {
    if (!kinds.includes(code)) continue;
    out[code] = {
      description,
      ...(code === '429' ? { headers: { 'Retry-After': { description: 'Seconds until a retry may succeed', schema: { type: 'integer' } } } } : {}),
      content: { 'application/json': { schema: ERROR_REF, example: { error: example } } },
    };
  }
  return out;
}

/** The tag (section) of a path: its first segment after /api. */
const tagOf = (path: string) => {
  const segment = path.split('/')[2] ?? 'api';
  return segment.charAt(0).toUpperCase() + segment.slice(1);
};

function restPaths(): Record<string, Record<string, object>> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of ROUTES) {
    const key = `${route.method} ${route.path}`;
    const doc = OPERATIONS[key] ?? {};
    const openPath = route.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    const parameters: object[] = [...route.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (doc.query) {
      for (const [name, field] of Object.entries(doc.query.shape)) {
        const fieldSchema = schema(field as z.ZodType);
        // A list in the query is written comma-separated (`status=running,paused`).
        const list = JSON.stringify(fieldSchema).includes('"type":"array"') ? { style: 'form', explode: false } : {};
        parameters.push({ name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, schema: fieldSchema, ...list });
      }
    }
    parameters.push(...(doc.headers ?? []));
    const kinds = ['400', '404', '413', '429', '500', ...(route.auth ? ['401', '403'] : []), ...((route.method === 'POST' && route.path.startsWith('/api/executions/')) || ((route.method === 'POST' || route.method === 'PATCH') && route.path.startsWith('/api/schedules')) ? ['409'] : [])];
    paths[openPath] ??= {};
    paths[openPath][route.method.toLowerCase()] = {
      operationId: key.replace(/[^a-zA-Z]+/g, '_').replace(/^_|_$/g, ''),
      tags: [tagOf(route.path)],
      ...(doc.summary ? { summary: doc.summary } : {}),
      ...(doc.description ? { description: doc.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(doc.body
        ? { requestBody: { required: doc.bodyRequired ?? true, content: { 'application/json': { schema: schema(doc.body), ...(doc.bodyExample !== undefined ? { example: doc.bodyExample } : {}) } } } }
        : {}),
      ...(route.auth ? { security: [{ bearer: [] }, { cookie: [] }] } : { security: [] }),
      responses: {
        [String(route.status)]: {
          description: 'Success',
          content: { 'application/json': { schema: doc.response ? schema(doc.response) : {}, ...(doc.responseExample !== undefined ? { example: doc.responseExample } : {}) } },
        },
        ...errorResponses(kinds),
      },
    };
  }
  return paths;
}

const STREAM_PATH = {
  get: {
    operationId: 'GET_api_executions_id_stream',
    tags: ['Executions'],
    summary: 'Follow an execution live (WebSocket or Server-Sent Events)',
    description:
      'The live stream of an execution: a WebSocket upgrade (each event one text message) or Server-Sent Events (`Accept: text/event-stream`). ' +
      'First a `state` message (its data the status body, its id the latest event id), then every event `{ id, type, executionId, timestamp, data }` ' +
      '(types: execution-started, task-assigned, task-progress, task-completed, task-failed, health-update, metrics-update, execution-paused, execution-resumed, execution-completed, execution-cancelled, error). ' +
      'After the final event the server closes the stream. Reconnect with `Last-Event-ID` (SSE) or `?after=` (WebSocket) to lose nothing. ' +
      'Opening one counts against the status rate limit; a credential holds at most STREAM_MAX_PER_CREDENTIAL open streams (429). A cookie-authenticated WebSocket upgrade must come from the app origin (403). ' +
      'When the credential ends (logout, expiry, revocation) or access to the workspace is removed, the stream is closed within 5 s: WebSocket close code 4401 or 4403 with a reason; over SSE a final `close` event with data `{ "code", "reason" }`.',
    parameters: [
      { name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: EXEC_ID },
      { name: 'access_token', in: 'query', required: false, description: 'A stream ticket from POST /api/executions/{id}/stream-ticket (never a session or API token)', schema: { type: 'string' } },
      { name: 'after', in: 'query', required: false, description: 'Resume after this event id (WebSocket)', schema: { type: 'integer', minimum: 0 } },
      {
        name: 'include',
        in: 'query',
        required: false,
        description: "What the `state` message's tasks carry beyond the seed's fields, as on the status endpoint: detail, results, or both separated by a comma (400 otherwise)",
        schema: { type: 'array', items: { type: 'string', enum: [...TASK_INCLUDES] } },
        style: 'form',
        explode: false,
      },
      { name: 'lastEventId', in: 'query', required: false, description: 'Resume after this event id (SSE; or the Last-Event-ID header)', schema: { type: 'integer', minimum: 0 } },
      { name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this event id (SSE)', schema: { type: 'integer', minimum: 0 } },
    ],
    security: [{ bearer: [] }, { cookie: [] }, { streamTicket: [] }],
    responses: {
      '101': { description: 'WebSocket stream' },
      '200': {
        description: 'Server-Sent Events',
        content: {
          'text/event-stream': {
            schema: { type: 'string' },
            example: `id: 41\nevent: state\ndata: {"id":41,"type":"state","executionId":"${EXEC_ID}",...}\n\nid: 42\nevent: task-completed\ndata: {"id":42,"type":"task-completed","executionId":"${EXEC_ID}","timestamp":"2025-11-26T20:00:02.000Z","data":{"taskId":"task_1"}}\n\n`,
          },
        },
      },
      ...errorResponses(['401', '403', '404', '429']),
    },
  },
};

/** One schema per agent type for the L4 items' `input`, named `<Type>AgentInput`. */
function agentSchemas(agents: readonly AgentCatalogEntry[]): Record<string, object> {
  const out: Record<string, object> = {};
  for (const agent of agents) {
    const name = `${agent.type.replace(/(^|[^a-zA-Z0-9])([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase())}AgentInput`;
    const { $schema: _, ...inputSchema } = agent.inputSchema ?? { type: 'object' };
    out[name] = {
      ...inputSchema,
      title: `${agent.type} agent input`,
      description: `Input of an L4 item with agentType "${agent.type}".${agent.description ? ` ${agent.description}` : ''}`,
      ...(agent.example ? { examples: [agent.example] } : {}),
    };
  }
  return out;
}

let cachedPaths: Record<string, Record<string, object>> | undefined;

/**
 * OpenAPI 3.1 for the whole REST surface, generated from the zod schemas the procedures validate
 * with, plus each agent type's input schema (`agents`: the registry's catalog).
 */
export function openApiDocument(options: { agents?: readonly AgentCatalogEntry[] | undefined } = {}): object {
  cachedPaths ??= restPaths();
  const agents = options.agents ?? [];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Strata API',
      version: '1.0.0',
      description:
        'Run strategies autonomously: executions, strategies, schedules, workspaces, tokens.\n\n' +
        'Authenticate with `Authorization: Bearer <token>` (an API token from the dashboard’s workspace settings, or the token signup/login return) or the `strata_session` cookie. ' +
        'Every error is `{ "error": "..." }`. A request is judged in this order: credentials (401), body (400), the resource exists (404) and you may act on it (403), the workspace’s rate limit (429), then the execution’s state (409).' +
        (agents.length ? `\n\nAgent types: ${agents.map((a) => `\`${a.type}\``).join(', ')}; their inputs are described under Models.` : ''),
    },
    servers: [{ url: '/' }],
    tags: [...new Set(ROUTES.map((r) => tagOf(r.path)))].map((name) => ({ name })),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (strata_…) or a session token' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'strata_session' },
        streamTicket: { type: 'apiKey', in: 'query', name: 'access_token', description: 'A single-use stream ticket (stream endpoint only)' },
      },
      schemas: { Error: { ...schema(errorBody), examples: [{ error: 'Access denied' }] }, ...agentSchemas(agents) },
    },
    paths: {
      '/api/health': { get: { operationId: 'health', tags: ['Health'], summary: 'Liveness and database reachability', security: [], responses: { '200': { description: 'OK' }, '503': { description: 'Database unreachable' } } } },
      '/api/openapi.json': { get: { operationId: 'openapi', tags: ['Health'], summary: 'This document', security: [], responses: { '200': { description: 'This document' } } } },
      ...cachedPaths,
      '/api/executions/{id}/stream': STREAM_PATH,
    },
  };
}
