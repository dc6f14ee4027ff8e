export { AgentRegistry, type AgentCatalogEntry, type AgentChildren, type AgentContext, type AgentDefinition, type AgentExecution, type AgentHandler, type AgentTask, type InputIssue } from './agent.ts';
export { backoffMs, DEFAULT_RETRY, type EngineContext, type RetryPolicy } from './context.ts';
export { EngineError, NonRetryableError, WaitRequest, conflict, notFound, validationError, type EngineErrorCode, type WaitOptions } from './errors.ts';
export { EVENTS_CHANNEL, appendEvents, type NewEvent } from './events.ts';
export { computeHealth, computeMetrics, loadStats, type ExecutionStats, type Health, type Metrics } from './health.ts';
export { controlExecution, startExecution, type ExecutionSummary, type StartExecutionInput } from './lifecycle.ts';
export { retryExecution, type RetryExecutionInput } from './retry.ts';
export { readQueueDepths, type QueueDepth } from './queue-depth.ts';
export { readTaskGauges, type TaskGauges } from './task-gauges.ts';
export { observeEngine, type EngineObserver } from './observer.ts';
export {
  ANALYTICS_LIMITS,
  analyticsRangeFields,
  analyticsRangeSchema,
  analyticsSummary,
  toAnalyticsRange,
  ERROR_PATTERN_LIMITS,
  errorAnalytics,
  executionAnalytics,
  lastDays,
  queueAnalytics,
  taskAnalytics,
  type AgentDurations,
  type AgentQueue,
  type AnalyticsRange,
  type AnalyticsSummary,
  type ErrorAnalytics,
  type ErrorPattern,
  type ExecutionAnalytics,
  type ExecutionCounts,
  type QueueAnalytics,
  type TaskAnalytics,
} from './analytics/index.ts';
export { agentQueue, ensureAgentQueues, pgBossTaskQueue, taskJobSchema, type TaskJob, type TaskQueue } from './queue.ts';
export { DEFAULT_RESULT_MAX_BYTES, PROGRESS_MAX_BYTES, formatBytes } from './limits.ts';
export { reapExpiredLeases, requeueLostJobs } from './recovery.ts';
export { claimTasks, recordOutcomes, reportProgress, type AttemptOutcome, type ClaimedTask, type DependencyResult } from './runner.ts';
export { getExecutionStatus, getExecutionStatusParts, getTaskView, statusBody, type ExecutionStatusBody, type ExecutionStatusParts, type StatusTask, type TaskInclude, type TaskView } from './status.ts';
export {
  KNOWN_AGENT_TYPES,
  l4ItemSchema,
  STRATEGY_LIMITS,
  strategyDefinitionSchema,
  strategyFields,
  strategyInputSchema,
  type L4ItemInput,
  type StrategyDefinitionInput,
  type StrategyInput,
} from './strategy/schema.ts';
export { archiveStrategy, createStrategy, updateStrategy, type ItemInputCheck, type WriteOptions } from './strategy/store.ts';
export { findStrategy, getStrategy, listStrategies, listStrategyVersions, type StrategyItemView, type StrategyVersionSummary, type StrategyView } from './strategy/read.ts';
export { findCycle, validateItems } from './strategy/validate.ts';
export { checkExecutionInput, checkInputSchema, INPUT_LIMITS } from './strategy/input-schema.ts';
export { startEngineWorker, type EngineWorker, type EngineWorkerOptions, type QueueSettings } from './worker.ts';
export { findExecution, listExecutions, type ExecutionListItem } from './queries.ts';
export { getWorkspaceLimits, setWorkspaceLimits, workspaceLimitsSchema, type AgentLimit, type WorkspaceLimits } from './throttle/settings.ts';
export { scanPlaceholders, type Placeholder } from './placeholders.ts';
export { blockAt, clearHooks, hookPoint, onHook, type HookBarrier, type HookInfo, type HookListener } from './hooks.ts';
export {
  answerApproval,
  APPROVAL_LIMITS,
  listPendingApprovals,
  type AnswerApprovalInput,
  type ApprovalAnswerer,
  type ApprovalDecision,
  type ApprovalRequest,
  type ApprovalView,
  type PendingApproval,
} from './waits/approvals.ts';
export { sendSignal, SIGNAL_LIMITS, signalNameSchema, signalPayloadSchema, type SendSignalInput, type SignalDelivery, type SignalView } from './waits/signals.ts';
export {
  createSchedule,
  deleteSchedule,
  findSchedule,
  getSchedule,
  listScheduleRuns,
  listSchedules,
  updateSchedule,
  type CreateScheduleInput,
  type Schedule,
  type ScheduleRun,
  type UpdateScheduleInput,
} from './schedules/store.ts';
export { runDueSchedules, startScheduleTicker, type ScheduleTicker, type ScheduleTickerOptions, type TickOutcome } from './schedules/ticker.ts';
export { ChildWaitRequest, childRequestSchema, type ChildRequest, type ChildSummary, type OmittedResult } from './children/request.ts';
export {
  IDEMPOTENCY_KEY_HOURS,
  type Maintenance,
  type PruneOutcome,
  type PruneTask,
  pruneExecutionEvents,
  pruneIdempotencyKeys,
  pruneRateLimitWindows,
  RATE_LIMIT_WINDOW_KEEP_MINUTES,
  runDueMaintenance,
  startMaintenance,
} from './retention/index.ts';
export {
  createWebhook,
  deleteWebhook,
  findWebhook,
  getWebhookDelivery,
  listWebhookDeliveries,
  listWebhooks,
  sendTestDelivery,
  type CreateWebhookInput,
  type DeliveryPage,
} from './webhooks/store.ts';
export { attemptDelivery, startWebhookDeliveryWorker, type WebhookDeliverySettings, type WebhookDeliveryWorker, type WebhookDeliveryWorkerOptions } from './webhooks/deliver.ts';
export { ensureWebhookQueue, WEBHOOK_QUEUE, type WebhookJob } from './webhooks/queue.ts';
export { DEFAULT_WEBHOOK_RETRY, nextAttemptAt, testWebhookRetry, type WebhookRetryPolicy } from './webhooks/schedule.ts';
export { pruneWebhookDeliveries } from './webhooks/retention.ts';
