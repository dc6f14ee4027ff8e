import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigserial,
  bigint,
  check,
  index,
  integer,
  json,
  jsonb,
  boolean,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

import {
  AGENT_TYPES,
  APPROVAL_ON_TIMEOUT,
  APPROVAL_STATUSES,
  EVENT_TYPES,
  EXECUTION_STATUSES,
  EXECUTION_TRIGGERS,
  ON_TASK_FAILURE,
  PRIORITIES,
  ROLES,
  SCHEDULE_RUN_STATUSES,
  TASK_STATUSES,
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_DELIVERY_TYPES,
  WEBHOOK_EVENT_TYPES,
} from './enums.ts';

export * from './enums.ts';

const inList = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_unique').on(sql`lower(${t.email})`)],
);

/** Lucia's session design: the id is the SHA-256 of the secret token, never the token. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

export const workspaces = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const memberships = pgTable(
  'memberships',
  {
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.userId] }),
    index('memberships_user_idx').on(t.userId),
    check('memberships_role_check', inList('role', ROLES)),
  ],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id').references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    lastUsedAt: ts('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

export const strategies = pgTable(
  'strategies',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    onTaskFailure: text('on_task_failure', { enum: ON_TASK_FAILURE }).notNull().default('fail'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    /** The latest version (1, 2, …); name, description and onTaskFailure above are that version's. */
    version: integer('version').notNull().default(1),
    /** Set by DELETE: gone from lists and cannot be started; its versions and executions stay readable. */
    archivedAt: ts('archived_at'),
    /** The latest version's JSON Schema for an execution's `input`; null: the strategy takes no input. `json`, not `jsonb`: the author's order of the parameters is kept. */
    inputSchema: json('input_schema').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('strategies_workspace_idx').on(t.workspaceId, t.createdAt),
    check('strategies_version_check', sql`${t.version} >= 1`),
    check('strategies_on_task_failure_check', inList('on_task_failure', ON_TASK_FAILURE)),
  ],
);

/**
 * Every version of a strategy's definition, immutable once written: an edit adds the next one.
 * The items of a version are the strategy_items rows carrying its number.
 */
export const strategyVersions = pgTable(
  'strategy_versions',
  {
    strategyId: text('strategy_id')
      .notNull()
      .references(() => strategies.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    onTaskFailure: text('on_task_failure', { enum: ON_TASK_FAILURE }).notNull(),
    itemCount: integer('item_count').notNull(),
    /** JSON Schema for an execution's `input`; null: the version takes no input (only `{}`). `json`, not `jsonb`: the author's order of the parameters is kept. */
    inputSchema: json('input_schema').$type<Record<string, unknown>>(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    /** At most this many tasks of one execution in progress at once; null: no cap. Pinned by each execution at start. */
    maxConcurrency: integer('max_concurrency'),
  },
  (t) => [
    primaryKey({ columns: [t.strategyId, t.version] }),
    check('strategy_versions_version_check', sql`${t.version} >= 1`),
    check('strategy_versions_max_concurrency_check', sql`${t.maxConcurrency} is null or ${t.maxConcurrency} > 0`),
    check('strategy_versions_on_task_failure_check', inList('on_task_failure', ON_TASK_FAILURE)),
  ],
);

/**
 * The strategy's tree, per version. L1–L3 rows are labels that group; L4 rows are executable items with a
 * key unique in their strategy. `dependsOn` holds the keys of other L4 items.
 */
export const strategyItems = pgTable(
  'strategy_items',
  {
    id: text('id').primaryKey(),
    strategyId: text('strategy_id')
      .notNull()
      .references(() => strategies.id, { onDelete: 'cascade' }),
    /** The strategy version this row belongs to; rows are never changed once written. */
    version: integer('version').notNull().default(1),
    parentId: text('parent_id'),
    level: integer('level').notNull(),
    key: text('key'),
    title: text('title').notNull(),
    agentType: text('agent_type', { enum: AGENT_TYPES }),
    priority: text('priority', { enum: PRIORITIES }),
    dependsOn: text('depends_on').array().notNull().default(sql`'{}'::text[]`),
    input: jsonb('input').$type<Record<string, unknown>>(),
    maxRetries: integer('max_retries'),
    timeoutSeconds: integer('timeout_seconds'),
    position: integer('position').notNull().default(0),
    /** A template over the item's input (`{{to}}`, `{{url.host}}`, `{{input.customer}}`): its tasks share limits with every task of the workspace whose key resolves the same. */
    concurrencyKey: text('concurrency_key'),
    /** At most this many tasks with the same resolved key in progress at once, workspace-wide. */
    keyConcurrency: integer('key_concurrency'),
    /** At most this many starts of tasks with the same resolved key in any rolling minute. */
    keyPerMinute: integer('key_per_minute'),
  },
  (t) => [
    index('strategy_items_strategy_idx').on(t.strategyId, t.version, t.level, t.position),
    uniqueIndex('strategy_items_key_unique').on(t.strategyId, t.version, t.key).where(sql`${t.level} = 4`),
    check('strategy_items_level_check', sql`${t.level} between 1 and 4`),
    check(
      'strategy_items_l4_check',
      sql`${t.level} <> 4 or (${t.key} is not null and ${t.agentType} is not null and ${t.priority} is not null and ${t.maxRetries} is not null and ${t.timeoutSeconds} is not null)`,
    ),
    check('strategy_items_priority_check', sql`${t.priority} is null or ${inList(t.priority.name, PRIORITIES)}`),
    check('strategy_items_retries_check', sql`${t.maxRetries} is null or ${t.maxRetries} >= 0`),
    check('strategy_items_timeout_check', sql`${t.timeoutSeconds} is null or ${t.timeoutSeconds} > 0`),
    check('strategy_items_key_limits_check', sql`(${t.keyConcurrency} is null or ${t.keyConcurrency} > 0) and (${t.keyPerMinute} is null or ${t.keyPerMinute} > 0)`),
  ],
);

export const executions = pgTable(
  'executions',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    strategyId: text('strategy_id')
      .notNull()
      .references(() => strategies.id, { onDelete: 'cascade' }),
    /** The strategy version the execution started with; later edits never touch it. */
    strategyVersion: integer('strategy_version').notNull().default(1),
    status: text('status', { enum: EXECUTION_STATUSES }).notNull().default('pending'),
    onTaskFailure: text('on_task_failure', { enum: ON_TASK_FAILURE }).notNull().default('fail'),
    totalTasks: integer('total_tasks').notNull().default(0),
    completedTasks: integer('completed_tasks').notNull().default(0),
    failedTasks: integer('failed_tasks').notNull().default(0),
    /** Kept beside the other counts so "anything left to run?" needs no scan of the tasks. */
    skippedTasks: integer('skipped_tasks').notNull().default(0),
    error: text('error'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    startedAt: ts('started_at'),
    pausedAt: ts('paused_at'),
    completedAt: ts('completed_at'),
    /** Bumped by every transaction that changes the execution or its tasks: a cheap cache key. */
    version: integer('version').notNull().default(0),
    /** When health-update / metrics-update were last emitted; they are coalesced to one a second. */
    statsEmittedAt: ts('stats_emitted_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** The parameters it was started with, valid against its strategy version's inputSchema. */
    input: jsonb('input').$type<Record<string, unknown>>().notNull().default({}),
    /** How it was started. */
    trigger: text('trigger', { enum: EXECUTION_TRIGGERS }).notNull().default('api'),
    /** The schedule that started it (trigger `schedule`). */
    scheduleId: text('schedule_id'),
    /** The execution this one re-runs (trigger `retry`). */
    retryOf: text('retry_of'),
    /**
     * A child execution (trigger `parent`): the execution whose `strategy` task started it, that
     * task, and the task's attempt. One child per attempt (the unique index): a retry of the task
     * starts a new one, a replayed or stale attempt never a second.
     */
    parentExecutionId: text('parent_execution_id').references((): AnyPgColumn => executions.id, { onDelete: 'set null' }),
    parentTaskId: text('parent_task_id').references((): AnyPgColumn => tasks.id, { onDelete: 'set null' }),
    parentAttempt: integer('parent_attempt'),
    /** Its strategy version's maxConcurrency, pinned at start: at most this many of its tasks in progress at once. */
    maxConcurrency: integer('max_concurrency'),
    /** When retention removed its event log (all but the final event); null while the log is whole. */
    eventsPrunedAt: ts('events_pruned_at'),
    /** The health score (0–100) it ended with, written with its final status: what analytics averages per day. */
    healthScore: integer('health_score'),
    /**
     * Tracing (OTEL_EXPORTER_OTLP_ENDPOINT set where it started): the W3C context of its span, decided
     * at start, which its task spans name as parent; the span is recorded when it ends (@strata/telemetry).
     */
    traceContext: jsonb('trace_context').$type<{ traceparent: string; tracestate?: string; parentSpanId?: string }>(),
  },
  (t) => [
    index('executions_retention_idx')
      .on(t.completedAt)
      .where(sql`${t.completedAt} is not null and ${t.eventsPrunedAt} is null`),
    uniqueIndex('executions_parent_task_attempt_unique')
      .on(t.parentTaskId, t.parentAttempt)
      .where(sql`${t.parentTaskId} is not null`),
    index('executions_parent_idx')
      .on(t.parentExecutionId)
      .where(sql`${t.parentExecutionId} is not null`),
    check('executions_trigger_check', inList('trigger', EXECUTION_TRIGGERS)),
    index('executions_retry_of_idx')
      .on(t.retryOf)
      .where(sql`${t.retryOf} is not null`),
    index('executions_workspace_idx').on(t.workspaceId, t.createdAt, t.id),
    index('executions_workspace_status_idx').on(t.workspaceId, t.status, t.createdAt),
    /** Analytics reads finished executions by the day they finished. */
    index('executions_workspace_finished_idx')
      .on(t.workspaceId, t.completedAt)
      .where(sql`${t.completedAt} is not null`),
    index('executions_active_idx')
      .on(t.status)
      .where(sql`${t.status} in ('pending', 'running', 'paused')`),
    check('executions_status_check', inList('status', EXECUTION_STATUSES)),
    check('executions_on_task_failure_check', inList('on_task_failure', ON_TASK_FAILURE)),
    check('executions_health_score_check', sql`${t.healthScore} is null or ${t.healthScore} between 0 and 100`),
    check(
      'executions_counts_check',
      sql`${t.completedTasks} >= 0 and ${t.failedTasks} >= 0 and ${t.skippedTasks} >= 0 and ${t.completedTasks} + ${t.failedTasks} + ${t.skippedTasks} <= ${t.totalTasks}`,
    ),
  ],
);

export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id').notNull(),
    l4ItemId: text('l4_item_id')
      .notNull()
      .references(() => strategyItems.id, { onDelete: 'cascade' }),
    /** The L4 item's key, so agents can name the dependencies whose results they read. */
    key: text('key').notNull(),
    agentType: text('agent_type', { enum: AGENT_TYPES }).notNull(),
    status: text('status', { enum: TASK_STATUSES }).notNull().default('pending'),
    priority: text('priority', { enum: PRIORITIES }).notNull(),
    description: text('description').notNull(),
    /** The item's place in its strategy: tasks of one priority are queued in this order. */
    ordinal: integer('ordinal').notNull().default(0),
    /** Task ids this task waits for. */
    dependencies: text('dependencies').array().notNull().default(sql`'{}'::text[]`),
    /** How many dependencies have not completed yet; the task is ready at 0. */
    pendingDependencies: integer('pending_dependencies').notNull().default(0),
    input: jsonb('input').$type<Record<string, unknown>>(),
    result: jsonb('result'),
    error: text('error'),
    progress: jsonb('progress'),
    retryCount: integer('retry_count').notNull().default(0),
    maxRetries: integer('max_retries').notNull(),
    timeoutSeconds: integer('timeout_seconds').notNull(),
    /** Fences each attempt: a result carrying an older attempt number is discarded. */
    attempt: integer('attempt').notNull().default(0),
    /** The pg-boss job of the current attempt; a sweep re-queues an assigned task whose job is gone. */
    jobId: text('job_id'),
    /**
     * The fair-queue tag of the current job (its pg-boss priority is minus it): where the job
     * stands in its agent queue. A task released later with a higher priority takes the place
     * of the earliest waiting lower-priority job of its execution.
     */
    queueTag: bigint('queue_tag', { mode: 'number' }),
    workerId: text('worker_id'),
    leaseExpiresAt: ts('lease_expires_at'),
    wakeAt: ts('wake_at'),
    assignedAt: ts('assigned_at'),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Completed by a re-run from the execution it retries: its result was carried over, no agent ran. */
    reused: boolean('reused').notNull().default(false),
    /** Its item's concurrencyKey, resolved at start over the task's input (packages/engine/src/throttle/key.ts). */
    concurrencyKey: text('concurrency_key'),
    keyConcurrency: integer('key_concurrency'),
    keyPerMinute: integer('key_per_minute'),
    /**
     * Set while the task waits for a limit (throttled, without a worker slot): the scope whose
     * limit holds it (`type:<workspace>:<agent type>`, `key:<workspace>:<key>`, `exec:<execution>`).
     * A slot freed in that scope wakes its sleepers in queue order.
     */
    throttleScope: text('throttle_scope'),
    /** Why it was skipped, copied from its skip event when retention removes the event log (else read from the event). */
    skipReason: text('skip_reason'),
  },
  (t) => [
    index('tasks_execution_status_idx').on(t.executionId, t.status),
    index('tasks_queued_idx')
      .on(t.executionId, t.agentType, t.queueTag)
      .where(sql`${t.status} = 'assigned'`),
    index('tasks_lease_idx')
      .on(t.leaseExpiresAt)
      .where(sql`${t.status} = 'in_progress'`),
    /** Analytics reads finished tasks (durations, error patterns) of a workspace by when they finished. */
    index('tasks_workspace_finished_idx')
      .on(t.workspaceId, t.completedAt)
      .where(sql`${t.status} in ('completed', 'failed')`),
    index('tasks_throttled_idx')
      .on(t.throttleScope, t.queueTag)
      .where(sql`${t.throttleScope} is not null`),
    check('tasks_status_check', inList('status', TASK_STATUSES)),
    check('tasks_priority_check', inList('priority', PRIORITIES)),
    check('tasks_retries_check', sql`${t.retryCount} >= 0 and ${t.maxRetries} >= 0`),
    check('tasks_pending_dependencies_check', sql`${t.pendingDependencies} >= 0`),
  ],
);

/** Dependency edges, indexed by the task depended on, so a completion finds its dependents. */
export const taskDependencies = pgTable(
  'task_dependencies',
  {
    taskId: text('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    dependsOnTaskId: text('depends_on_task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.dependsOnTaskId, t.taskId] }),
    index('task_dependencies_task_idx').on(t.taskId),
  ],
);

/** Append-only log of every change; ids increase monotonically. */
export const executionEvents = pgTable(
  'execution_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    type: text('type', { enum: EVENT_TYPES }).notNull(),
    data: jsonb('data').notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    index('execution_events_execution_idx').on(t.executionId, t.id),
    check('execution_events_type_check', inList('type', EVENT_TYPES)),
  ],
);

/** Fixed-window counters shared by every web process. */
export const rateLimits = pgTable(
  'rate_limits',
  {
    workspaceId: text('workspace_id').notNull(),
    bucket: text('bucket').notNull(),
    windowStart: ts('window_start').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.bucket, t.windowStart] }),
    index('rate_limits_window_idx').on(t.windowStart),
  ],
);

/**
 * Failed logins, one row each, counted over a sliding window per account (lower-cased email)
 * and per client address: the throttle holds across every web process.
 */
export const loginFailures = pgTable(
  'login_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `account:<email>` or `client:<address>`. */
    key: text('key').notNull(),
    failedAt: ts('failed_at').notNull().defaultNow(),
  },
  (t) => [index('login_failures_key_idx').on(t.key, t.failedAt), index('login_failures_failed_idx').on(t.failedAt)],
);

export const INVITATION_STATUSES = ['pending', 'accepted', 'declined', 'revoked'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/**
 * Membership by invitation: an admin invites an email (whether or not it has an account); the
 * invitee sees it after logging in and accepts or declines.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    status: text('status', { enum: INVITATION_STATUSES }).notNull().default('pending'),
    invitedBy: text('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    respondedAt: ts('responded_at'),
  },
  (t) => [
    index('invitations_email_idx').on(sql`lower(${t.email})`, t.status),
    uniqueIndex('invitations_pending_unique')
      .on(t.workspaceId, sql`lower(${t.email})`)
      .where(sql`${t.status} = 'pending'`),
    check('invitations_role_check', inList('role', ROLES)),
    check('invitations_status_check', inList('status', INVITATION_STATUSES)),
  ],
);

/**
 * Short-lived, single-use tickets for `?access_token=` on the stream (clients that cannot send
 * headers): only the SHA-256 of the ticket is stored; it names the credential it was issued
 * from, so the stream still ends with that credential.
 */
export const streamTickets = pgTable(
  'stream_tickets',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    sessionId: text('session_id'),
    tokenId: text('token_id'),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [index('stream_tickets_expires_idx').on(t.expiresAt)],
);

/**
 * The web processes serving execution streams, each with a lease it renews while it has
 * streams open (one row write per interval, whatever the number of streams). A crashed
 * process's streams stop counting once its lease has passed.
 */
export const streamProcesses = pgTable(
  'stream_processes',
  {
    id: text('id').primaryKey(),
    leaseExpiresAt: ts('lease_expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('stream_processes_expires_idx').on(t.leaseExpiresAt)],
);

/**
 * Open execution streams per credential and process, so the cap on concurrent streams per
 * credential holds across web processes. `credential` is `session:<id>` or `token:<id>`: the
 * credential that pays for the stream (for a ticket, the one that issued it).
 */
export const streamCounts = pgTable(
  'stream_counts',
  {
    processId: text('process_id')
      .notNull()
      .references(() => streamProcesses.id, { onDelete: 'cascade' }),
    credential: text('credential').notNull(),
    open: integer('open').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.processId, t.credential] }), index('stream_counts_credential_idx').on(t.credential)],
);

/** Idempotency-Key on start: a repeat within 24 h returns the first execution. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    executionId: text('execution_id').references(() => executions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

/**
 * Mail the email agent delivered without an SMTP server configured: kept here (and shown by
 * the dashboard) so nothing is ever silently dropped.
 */
export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: text('id').primaryKey(),
    executionId: text('execution_id').references(() => executions.id, { onDelete: 'cascade' }),
    taskId: text('task_id'),
    from: text('from').notNull(),
    to: text('to').array().notNull(),
    cc: text('cc').array().notNull().default(sql`'{}'::text[]`),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    createdAt: createdAt(),
  },
  (t) => [index('email_outbox_execution_idx').on(t.executionId, t.createdAt)],
);

/**
 * Start-time fair queueing, per agent queue: `finish` is the virtual time at which a workspace's
 * next job may start. A job is tagged max(the queue's virtual time, this clock) and the clock
 * moves past it, so every workspace with work waiting gets a turn per round however long
 * another's backlog is. See packages/engine/src/fair-queue.ts.
 */
export const queueClocks = pgTable(
  'queue_clocks',
  {
    queue: text('queue').notNull(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    finish: bigint('finish', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.queue, t.workspaceId] }), index('queue_clocks_finish_idx').on(t.queue, t.finish)],
);

/**
 * Starts of a strategy on a timetable: a five-field `cron` in an IANA `timezone`, or one `runAt`.
 * `nextRunAt` is the next tick due (null when disabled or when a one-off has run); a tick is
 * claimed by writing its schedule_runs row in the start's own transaction, so each starts once.
 */
export const schedules = pgTable(
  'schedules',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    strategyId: text('strategy_id')
      .notNull()
      .references(() => strategies.id, { onDelete: 'cascade' }),
    cron: text('cron'),
    runAt: ts('run_at'),
    timezone: text('timezone').notNull().default('UTC'),
    input: jsonb('input').$type<Record<string, unknown>>().notNull().default({}),
    enabled: boolean('enabled').notNull().default(true),
    nextRunAt: ts('next_run_at'),
    lastRunAt: ts('last_run_at'),
    lastExecutionId: text('last_execution_id'),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('schedules_workspace_idx').on(t.workspaceId, t.createdAt),
    index('schedules_due_idx')
      .on(t.nextRunAt)
      .where(sql`${t.enabled} and ${t.nextRunAt} is not null`),
    check('schedules_when_check', sql`(${t.cron} is null) <> (${t.runAt} is null)`),
  ],
);

/** One row per tick of a schedule: the key that makes each tick start at most one execution. */
export const scheduleRuns = pgTable(
  'schedule_runs',
  {
    scheduleId: text('schedule_id')
      .notNull()
      .references(() => schedules.id, { onDelete: 'cascade' }),
    tickAt: ts('tick_at').notNull(),
    status: text('status', { enum: SCHEDULE_RUN_STATUSES }).notNull(),
    executionId: text('execution_id').references(() => executions.id, { onDelete: 'set null' }),
    error: text('error'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.scheduleId, t.tickAt] }),
    index('schedule_runs_recent_idx').on(t.scheduleId, t.createdAt),
    check('schedule_runs_status_check', inList('status', SCHEDULE_RUN_STATUSES)),
  ],
);

/**
 * A person's decision asked for by a task (the `approval` agent): one per task, kept across its
 * attempts, so an attempt that follows one lost after the answer (a worker gone) reads the answer
 * instead of asking again. Pending until answered (approve / reject, by a member with the
 * operator role or above) or until `timeout_at`, when `on_timeout` decides.
 */
export const approvals = pgTable(
  'approvals',
  {
    taskId: text('task_id')
      .primaryKey()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    prompt: text('prompt').notNull(),
    details: jsonb('details'),
    status: text('status', { enum: APPROVAL_STATUSES }).notNull().default('pending'),
    onTimeout: text('on_timeout', { enum: APPROVAL_ON_TIMEOUT }).notNull().default('reject'),
    /** When an unanswered approval times out; null: it waits as long as it takes. */
    timeoutAt: ts('timeout_at'),
    answeredBy: text('answered_by').references(() => users.id, { onDelete: 'set null' }),
    comment: text('comment'),
    /** When it was answered or timed out. */
    answeredAt: ts('answered_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('approvals_pending_idx')
      .on(t.workspaceId, t.createdAt)
      .where(sql`${t.status} = 'pending'`),
    index('approvals_execution_idx').on(t.executionId),
    check('approvals_status_check', inList('status', APPROVAL_STATUSES)),
    check('approvals_on_timeout_check', inList('on_timeout', APPROVAL_ON_TIMEOUT)),
    check('approvals_answered_check', sql`(${t.status} = 'pending') = (${t.answeredAt} is null)`),
  ],
);

/**
 * Signals sent to an execution (`POST /api/executions/:id/signals`), kept for its life: a task
 * waiting for a name completes with the payload of the first signal of that name, whether it
 * was sent before or after the task began to wait.
 */
export const executionSignals = pgTable(
  'execution_signals',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** null when the signal carries none. */
    payload: jsonb('payload'),
    sentBy: text('sent_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('execution_signals_name_idx').on(t.executionId, t.name, t.id)],
);

/**
 * The signal a task waits for (coordination's `waitForSignal`), one per task: the name and the
 * deadline set when it first asked, kept across its attempts and wake-ups.
 */
export const signalWaits = pgTable(
  'signal_waits',
  {
    taskId: text('task_id')
      .primaryKey()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** When the wait gives up; null: it waits as long as the execution runs. */
    deadline: ts('deadline'),
    createdAt: createdAt(),
  },
  (t) => [index('signal_waits_name_idx').on(t.executionId, t.name)],
);

/**
 * Per workspace and agent type: at most `concurrency` tasks in progress at once, at most
 * `perMinute` starts in any rolling minute, across every worker process. No row (or a null):
 * unlimited. See packages/engine/src/throttle/.
 */
export const workspaceLimits = pgTable(
  'workspace_limits',
  {
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    agentType: text('agent_type').notNull(),
    concurrency: integer('concurrency'),
    perMinute: integer('per_minute'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.agentType] }),
    check('workspace_limits_values_check', sql`(${t.concurrency} is null or ${t.concurrency} > 0) and (${t.perMinute} is null or ${t.perMinute} > 0)`),
  ],
);

/**
 * The starts of tasks under a workspace or key limit, one row per task start and limited scope:
 * the rolling window of `perMinute` counts them, and those whose task still runs are what
 * `concurrency` counts. Rows older than the window whose task no longer runs are pruned.
 */
export const limitStarts = pgTable(
  'limit_starts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    scope: text('scope').notNull(),
    taskId: text('task_id').notNull(),
    startedAt: ts('started_at').notNull(),
  },
  (t) => [index('limit_starts_scope_idx').on(t.scope, t.startedAt), index('limit_starts_started_idx').on(t.startedAt)],
);

/**
 * Periodic maintenance (retention's prune tasks): when each last ran. Any number of workers run
 * the same loop; the row is claimed with a conditional update, so each task runs once per period.
 */
export const maintenanceRuns = pgTable('maintenance_runs', {
  name: text('name').primaryKey(),
  lastRunAt: ts('last_run_at').notNull(),
});

/**
 * A workspace's alert by webhook: the URL, the events it is sent, and the secret its deliveries
 * are signed with. The secret is kept because signing needs it; the API returns it only once,
 * when the webhook is created.
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events', { enum: WEBHOOK_EVENT_TYPES }).array().notNull(),
    /** `execution.health_below` is sent when an execution's health score first drops below this. */
    healthThreshold: integer('health_threshold').notNull().default(60),
    secret: text('secret').notNull(),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhooks_workspace_idx').on(t.workspaceId, t.createdAt),
    check('webhooks_threshold_check', sql`${t.healthThreshold} between 0 and 100`),
    check('webhooks_events_check', sql`cardinality(${t.events}) > 0 and ${t.events} <@ array[${sql.raw(WEBHOOK_EVENT_TYPES.map((e) => `'${e}'`).join(', '))}]::text[]`),
  ],
);

/**
 * One message to one webhook and what became of it: pending while attempts go on (each a job on
 * the `webhook.delivery` queue), succeeded on a 2xx answer, failed when its retries ran out. The
 * payload is fixed when the delivery is made, so every attempt sends the same body.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    type: text('type', { enum: WEBHOOK_DELIVERY_TYPES }).notNull(),
    executionId: text('execution_id').references(() => executions.id, { onDelete: 'set null' }),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    lastAttemptAt: ts('last_attempt_at'),
    /** When the next attempt is due (pending only). */
    nextAttemptAt: ts('next_attempt_at'),
    completedAt: ts('completed_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_webhook_idx').on(t.webhookId, t.createdAt, t.id),
    index('webhook_deliveries_created_idx').on(t.createdAt),
    check('webhook_deliveries_status_check', inList('status', WEBHOOK_DELIVERY_STATUSES)),
    check('webhook_deliveries_type_check', inList('type', WEBHOOK_DELIVERY_TYPES)),
  ],
);

/** Which webhooks were already sent `execution.health_below` for an execution: the key that makes it once per execution per webhook. */
export const webhookHealthAlerts = pgTable(
  'webhook_health_alerts',
  {
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    executionId: text('execution_id')
      .notNull()
      .references(() => executions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.webhookId, t.executionId] }), index('webhook_health_alerts_execution_idx').on(t.executionId)],
);
