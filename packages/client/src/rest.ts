/**
 * A small REST client with the seed's retry behaviour: no retry on 4xx, exponential backoff on
 * 5xx and network errors, and an Idempotency-Key on start and re-run so a retry cannot start twice.
 */
import type { ApiTokenInfo, AuthUser, CreatedApiToken, Role } from '@strata/auth';
import type { AgentLimit, AnalyticsSummary, ApprovalView, ErrorAnalytics, ExecutionAnalytics, QueueAnalytics, TaskAnalytics, PendingApproval, SignalView, StrategyDefinitionInput, StrategyVersionSummary, StrategyView, WorkspaceLimits } from '@strata/engine';
import type { ExecutionStatusBody, RetryMode, TaskInclude, TaskView } from '@strata/engine/contract';
import type { ScheduleRunView, ScheduleView } from '@strata/engine/schedule-contract';
import type { CreatedWebhookView, WebhookDeliveryView, WebhookEventType, WebhookView } from '@strata/engine/webhook-contract';

/** A value as it arrives in JSON: dates are ISO strings. */
export type Json<T> = T extends Date ? string : T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
export type Strategy = Json<StrategyView>;
export type StrategyVersion = Json<StrategyVersionSummary>;
/** A strategy as the list shows it: its latest version's fields and item count. */
export type StrategyListEntry = Pick<Strategy, 'id' | 'workspaceId' | 'name' | 'description' | 'onTaskFailure' | 'createdAt' | 'version'> & { itemCount: number; updatedAt: string };

/** A workspace as the caller sees it: with the caller's role in it. */
export interface WorkspaceMembership {
  id: string;
  name: string;
  role: Role;
}
/** A signed-in session: its token is a Bearer credential until logout. */
export interface SessionResponse {
  user: AuthUser;
  token: string;
}
export type ApiToken = Json<ApiTokenInfo>;
/** A new API token: `token` is its secret, shown this once. */
export type NewApiToken = Json<CreatedApiToken>;

/** A task waiting for a person's answer, as `GET /api/approvals` lists it. */
export type { PendingApproval };
/** An approval as answering it returns it. */
export type Approval = ApprovalView;

export interface AnswerResponse {
  success: true;
  message: string;
  approval: Approval;
}

export interface SignalResponse {
  signal: SignalView;
  /** Tasks waiting for this name that receive it (now, or at resume when the execution is paused). */
  waiters: number;
}

export class StrataApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.name = 'StrataApiError';
    this.status = status;
    this.body = body;
  }
}

export interface RestClientOptions {
  baseUrl: string;
  token?: string;
  /** Attempts in all, as in the seed's executeWithRetry (default 3). */
  maxRetries?: number;
  /** First backoff in ms; doubles each retry (default 1000, as in the seed). */
  backoffMs?: number;
  fetch?: typeof fetch;
}

export interface StartResponse {
  success: true;
  executionId: string;
  message: string;
  execution: { id: string; status: string; strategyId: string; startedAt: string | null; totalTasks: number };
}

/** A re-run's answer: the start body for the new execution, and the execution it re-runs. */
export interface RetryResponse extends StartResponse {
  retryOf: string;
}

export interface ControlResponse {
  success: true;
  message: string;
  execution: { id: string; status: string };
}

/** When a schedule runs and with what: exactly one of `cron` and `runAt` on creation. */
export interface ScheduleFields {
  /** Five-field cron expression, read in `timezone`. */
  cron?: string;
  /** A one-off time: ISO 8601 with an offset. */
  runAt?: string;
  /** IANA time zone name (default UTC). */
  timezone?: string;
  /** Parameters, valid against the strategy's latest inputSchema. */
  input?: Record<string, unknown>;
  enabled?: boolean;
}

export class StrataRestClient {
  readonly #options: Required<Omit<RestClientOptions, 'token'>> & { token?: string };

  constructor(options: RestClientOptions) {
    this.#options = { maxRetries: 3, backoffMs: 1000, fetch: globalThis.fetch.bind(globalThis), ...options, baseUrl: options.baseUrl.replace(/\/$/, '') };
  }

  /** Opens a session (`POST /api/auth/login`). Not retried: the login throttle counts every attempt. */
  login(email: string, password: string) {
    return this.request<SessionResponse>('POST', '/api/auth/login', { email, password }, {}, { retry: false });
  }

  /** Ends the session the client's token belongs to. */
  logout() {
    return this.request<{ success: true }>('POST', '/api/auth/logout', {}, {}, { retry: false });
  }

  /** Who the token belongs to, and the workspaces it reaches. */
  me() {
    return this.request<{ user: AuthUser; workspaces: WorkspaceMembership[] }>('GET', '/api/me');
  }

  listWorkspaces() {
    return this.request<{ workspaces: WorkspaceMembership[] }>('GET', '/api/workspaces');
  }

  /**
   * Creates an API token (from a session: a token cannot mint tokens); with `workspaceId` it only
   * reaches that workspace. Not retried on a 5xx: a lost answer would leave a token nobody saw.
   */
  createToken(input: { name: string; workspaceId?: string; expiresInDays?: number }) {
    return this.request<NewApiToken>('POST', '/api/tokens', input, {}, { retry: false });
  }

  /** The caller's API tokens, newest first (never their secrets); with `workspaceId`, those bound to it. */
  listTokens(options: { workspaceId?: string } = {}) {
    const query = options.workspaceId ? `?workspaceId=${encodeURIComponent(options.workspaceId)}` : '';
    return this.request<{ tokens: ApiToken[] }>('GET', `/api/tokens${query}`);
  }

  /** Revokes a token: it stops working at once. A second revoke answers the same. */
  revokeToken(tokenId: string) {
    return this.request<{ success: true; id: string }>('DELETE', `/api/tokens/${encodeURIComponent(tokenId)}`);
  }

  /**
   * Starts an execution, with `input` checked against the strategy's inputSchema; the
   * Idempotency-Key (given or generated) is sent on every attempt.
   */
  startExecution(input: { strategyId: string; workspaceId: string; input?: Record<string, unknown> }, options: { idempotencyKey?: string } = {}): Promise<StartResponse> {
    const key = options.idempotencyKey ?? crypto.randomUUID();
    return this.request<StartResponse>('POST', '/api/executions/start', input, { 'idempotency-key': key });
  }

  /**
   * Re-runs a failed or cancelled execution as a new one; with `mode: 'failed'` (the default) the
   * tasks that completed are carried over, with `'all'` every task runs again. The
   * Idempotency-Key (given or generated) is sent on every attempt, so a retried request starts
   * one re-run.
   */
  retryExecution(executionId: string, options: { mode?: RetryMode; idempotencyKey?: string } = {}): Promise<RetryResponse> {
    const key = options.idempotencyKey ?? crypto.randomUUID();
    return this.request<RetryResponse>('POST', `/api/executions/${encodeURIComponent(executionId)}/retry`, options.mode ? { mode: options.mode } : {}, { 'idempotency-key': key });
  }

  /**
   * The status body. Its tasks carry the seed's fields; `include` adds `detail` (key,
   * dependencies, retries, error, ...) and/or `results` (each task's result and progress).
   */
  getStatus(executionId: string, options: { include?: readonly TaskInclude[] } = {}) {
    const query = options.include?.length ? `?include=${options.include.map(encodeURIComponent).join(',')}` : '';
    return this.request<ExecutionStatusBody>('GET', `/api/executions/${encodeURIComponent(executionId)}/status${query}`);
  }

  /** One task with every field, its result too. */
  getTask(executionId: string, taskId: string) {
    return this.request<{ task: TaskView }>('GET', `/api/executions/${encodeURIComponent(executionId)}/tasks/${encodeURIComponent(taskId)}`);
  }

  pauseExecution(executionId: string) {
    return this.request<ControlResponse>('POST', `/api/executions/${encodeURIComponent(executionId)}/pause`);
  }

  resumeExecution(executionId: string) {
    return this.request<ControlResponse>('POST', `/api/executions/${encodeURIComponent(executionId)}/resume`);
  }

  cancelExecution(executionId: string) {
    return this.request<ControlResponse>('POST', `/api/executions/${encodeURIComponent(executionId)}/cancel`);
  }

  /** Schedules a strategy: `POST /api/schedules`. Not retried on a 5xx: a lost answer could mean it was created. */
  createSchedule(input: { workspaceId: string; strategyId: string } & ScheduleFields) {
    return this.request<{ schedule: ScheduleView }>('POST', '/api/schedules', input, {}, { retry: false });
  }

  /** A workspace's schedules (one strategy's with `strategyId`). */
  listSchedules(workspaceId: string, options: { strategyId?: string } = {}) {
    const query = new URLSearchParams({ workspaceId, ...(options.strategyId ? { strategyId: options.strategyId } : {}) });
    return this.request<{ schedules: ScheduleView[] }>('GET', `/api/schedules?${query}`);
  }

  getSchedule(scheduleId: string) {
    return this.request<{ schedule: ScheduleView }>('GET', `/api/schedules/${encodeURIComponent(scheduleId)}`);
  }

  /** Changes any of cron/runAt/timezone/input/enabled; a change of timing or of enabled recomputes nextRunAt. */
  updateSchedule(scheduleId: string, patch: ScheduleFields) {
    return this.request<{ schedule: ScheduleView }>('PATCH', `/api/schedules/${encodeURIComponent(scheduleId)}`, patch);
  }

  deleteSchedule(scheduleId: string) {
    return this.request<{ success: true }>('DELETE', `/api/schedules/${encodeURIComponent(scheduleId)}`);
  }

  /** The schedule's latest ticks, newest first (started, missed, failed). */
  listScheduleRuns(scheduleId: string, options: { limit?: number } = {}) {
    const query = options.limit ? `?limit=${options.limit}` : '';
    return this.request<{ runs: ScheduleRunView[] }>('GET', `/api/schedules/${encodeURIComponent(scheduleId)}/runs${query}`);
  }

  /**
   * Creates a webhook (admin): the answer alone carries its signing secret (`webhook.secret`).
   * Not retried on a 5xx: a lost answer could mean it was created.
   */
  createWebhook(input: { workspaceId: string; url: string; events: WebhookEventType[]; healthThreshold?: number }) {
    return this.request<{ webhook: CreatedWebhookView }>('POST', '/api/webhooks', input, {}, { retry: false });
  }

  /** A workspace's webhooks, never their secrets (admin). */
  listWebhooks(workspaceId: string) {
    return this.request<{ webhooks: WebhookView[] }>('GET', `/api/webhooks?workspaceId=${encodeURIComponent(workspaceId)}`);
  }

  deleteWebhook(webhookId: string) {
    return this.request<{ success: true }>('DELETE', `/api/webhooks/${encodeURIComponent(webhookId)}`);
  }

  /** A webhook's deliveries, newest first; pass `nextCursor` as `cursor` for the next page. */
  listWebhookDeliveries(webhookId: string, options: { limit?: number; cursor?: string } = {}) {
    const query = new URLSearchParams({ ...(options.limit ? { limit: String(options.limit) } : {}), ...(options.cursor ? { cursor: options.cursor } : {}) }).toString();
    return this.request<{ deliveries: WebhookDeliveryView[]; nextCursor: string | null }>(
      'GET',
      `/api/webhooks/${encodeURIComponent(webhookId)}/deliveries${query ? `?${query}` : ''}`,
    );
  }

  /** Queues a `webhook.test` delivery; answers it (pending until sent). Not retried: each call sends one. */
  sendTestWebhook(webhookId: string) {
    return this.request<{ delivery: WebhookDeliveryView }>('POST', `/api/webhooks/${encodeURIComponent(webhookId)}/test`, undefined, {}, { retry: false });
  }

  listStrategies(workspaceId: string) {
    return this.request<{ strategies: StrategyListEntry[] }>('GET', `/api/strategies?workspaceId=${encodeURIComponent(workspaceId)}`);
  }

  /** The latest version of a strategy, or version `version`. */
  getStrategy(strategyId: string, options: { version?: number } = {}) {
    const query = options.version !== undefined ? `?version=${options.version}` : '';
    return this.request<{ strategy: Strategy }>('GET', `/api/strategies/${encodeURIComponent(strategyId)}${query}`);
  }

  listStrategyVersions(strategyId: string) {
    return this.request<{ versions: StrategyVersion[] }>('GET', `/api/strategies/${encodeURIComponent(strategyId)}/versions`);
  }

  /** Creates a strategy (its version 1). Not retried on a 5xx: a lost answer could mean it was created. */
  createStrategy(input: StrategyDefinitionInput & { workspaceId: string }) {
    return this.request<{ strategy: Strategy }>('POST', '/api/strategies', input, {}, { retry: false });
  }

  /** Writes the strategy's next version; with `baseVersion`, refused (409) when someone else edited it meanwhile. */
  updateStrategy(strategyId: string, definition: StrategyDefinitionInput & { baseVersion?: number }) {
    return this.request<{ strategy: Strategy }>('PUT', `/api/strategies/${encodeURIComponent(strategyId)}`, definition);
  }

  /** Archives: gone from lists, cannot be started; its executions stay readable. */
  archiveStrategy(strategyId: string) {
    return this.request<{ success: true; strategy: { id: string; archivedAt: string } }>('DELETE', `/api/strategies/${encodeURIComponent(strategyId)}`);
  }

  /** The workspace's limits per agent type (any member). */
  getWorkspaceLimits(workspaceId: string) {
    return this.request<WorkspaceLimits>('GET', `/api/workspaces/${encodeURIComponent(workspaceId)}/limits`);
  }

  /**
   * Replaces the workspace's limits (admin): the whole set, a type left out is unlimited. A
   * bad value is a 400 whose `field` names it (`agents.email.concurrency`).
   */
  setWorkspaceLimits(workspaceId: string, agents: Record<string, Partial<AgentLimit>>) {
    return this.request<WorkspaceLimits>('PUT', `/api/workspaces/${encodeURIComponent(workspaceId)}/limits`, { agents });
  }

  /**
   * A workspace's analytics over whole UTC days, `from` and `to` (YYYY-MM-DD) included (default:
   * the last 30 days): finished executions per day by status with success rate and average final
   * health, task durations per agent type, error patterns and queue depth now, in one answer.
   */
  getAnalytics(workspaceId: string, range: AnalyticsRangeQuery & { limit?: number } = {}) {
    return this.request<AnalyticsSummary>('GET', `/api/analytics${analyticsQuery(workspaceId, range)}`);
  }

  /** Finished executions per UTC day by final status, success rate and average final health. */
  getExecutionAnalytics(workspaceId: string, range: AnalyticsRangeQuery = {}) {
    return this.request<ExecutionAnalytics>('GET', `/api/analytics/executions${analyticsQuery(workspaceId, range)}`);
  }

  /** Average and p95 duration of finished tasks per agent type. */
  getTaskAnalytics(workspaceId: string, range: AnalyticsRangeQuery = {}) {
    return this.request<TaskAnalytics>('GET', `/api/analytics/tasks${analyticsQuery(workspaceId, range)}`);
  }

  /** The most frequent error patterns of failed tasks (`limit`: how many, default 10, at most 50). */
  getErrorAnalytics(workspaceId: string, range: AnalyticsRangeQuery & { limit?: number } = {}) {
    return this.request<ErrorAnalytics>('GET', `/api/analytics/errors${analyticsQuery(workspaceId, range)}`);
  }

  /** Queue depth now per agent type: the server's agent queues and the workspace's tasks in them. */
  getQueueAnalytics(workspaceId: string) {
    return this.request<QueueAnalytics>('GET', `/api/analytics/queues${analyticsQuery(workspaceId, {})}`);
  }

  /** The approvals waiting for an answer in a workspace (or one execution of it), oldest first. */
  listApprovals(workspaceId: string, options: { executionId?: string } = {}) {
    const execution = options.executionId ? `&executionId=${encodeURIComponent(options.executionId)}` : '';
    return this.request<{ approvals: PendingApproval[] }>('GET', `/api/approvals?workspaceId=${encodeURIComponent(workspaceId)}${execution}`);
  }

  /** Approves a task waiting for approval. Not retried on a 5xx: a lost answer may have been recorded (a repeat would be a 409). */
  approveTask(executionId: string, taskId: string, options: { comment?: string } = {}) {
    return this.#answer('approve', executionId, taskId, options);
  }

  /** Rejects a task waiting for approval: it fails without retries. Not retried on a 5xx, like approveTask. */
  rejectTask(executionId: string, taskId: string, options: { comment?: string } = {}) {
    return this.#answer('reject', executionId, taskId, options);
  }

  /** Sends a signal to an execution. Not retried on a 5xx: a repeat would send a second signal. */
  sendSignal(executionId: string, name: string, payload?: unknown) {
    return this.request<SignalResponse>('POST', `/api/executions/${encodeURIComponent(executionId)}/signals`, payload === undefined ? { name } : { name, payload }, {}, { retry: false });
  }

  #answer(verb: 'approve' | 'reject', executionId: string, taskId: string, options: { comment?: string }) {
    const path = `/api/executions/${encodeURIComponent(executionId)}/tasks/${encodeURIComponent(taskId)}/${verb}`;
    return this.request<AnswerResponse>('POST', path, options.comment === undefined ? {} : { comment: options.comment }, {}, { retry: false });
  }

  /**
   * One call with the seed's retry policy: 4xx final, 5xx and network errors retried with
   * backoff — unless `retry` is false, for a call that must not run twice.
   */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, options: { retry?: boolean } = {}): Promise<T> {
    const { backoffMs, token } = this.#options;
    const maxRetries = options.retry === false ? 1 : this.#options.maxRetries;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.#options.fetch(`${this.#options.baseUrl}${path}`, {
          method,
          headers: {
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...headers,
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (error) {
        if (attempt >= maxRetries - 1) throw error;
        await delay(backoffMs * 2 ** attempt);
        continue;
      }
      const text = await response.text();
      const parsed = text ? safeJson(text) : undefined;
      if (response.ok) return parsed as T;
      const message = (parsed as { error?: string } | undefined)?.error ?? `HTTP ${response.status}`;
      // Client errors are final; server errors are worth another try.
      if (response.status < 500 || attempt >= maxRetries - 1) throw new StrataApiError(response.status, message, parsed);
      await delay(backoffMs * 2 ** attempt);
    }
  }
}

/** An analytics range: whole UTC days, YYYY-MM-DD, both included. */
export interface AnalyticsRangeQuery {
  from?: string;
  to?: string;
}

function analyticsQuery(workspaceId: string, options: AnalyticsRangeQuery & { limit?: number }): string {
  const query = new URLSearchParams({ workspaceId });
  if (options.from !== undefined) query.set('from', options.from);
  if (options.to !== undefined) query.set('to', options.to);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  return `?${query}`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
