export { createStrataClient, type StrataClient, type StrataClientOptions } from './trpc.ts';
export {
  type AnswerResponse,
  type ApiToken,
  type Approval,
  type ControlResponse,
  type NewApiToken,
  type PendingApproval,
  type RestClientOptions,
  type RetryResponse,
  type ScheduleFields,
  type SessionResponse,
  type SignalResponse,
  StrataApiError,
  StrataRestClient,
  type StartResponse,
  type Strategy,
  type StrategyListEntry,
  type WorkspaceMembership,
} from './rest.ts';
export type { ScheduleRunView, ScheduleView } from '@strata/engine/schedule-contract';
// The webhook signature check (node:crypto) is `@strata/client/webhooks`, kept out of this browser-safe entry.
export type { CreatedWebhookView, WebhookDeliveryView, WebhookEventType, WebhookView } from '@strata/engine/webhook-contract';
export {
  BridgeConnectionError,
  ExecutionBridge,
  executionBridge,
  type BridgeEventDataMap,
  type ConnectOptions,
  type EventHandler,
  type ExecutionBridgeOptions,
  type ReconnectOptions,
  type StateListener,
} from './bridge.ts';
export {
  applyStreamEvent,
  BRIDGE_EVENT_TYPES,
  createInitialState,
  FINAL_EVENT_TYPES,
  isTerminalStatus,
  TASK_STATUSES,
  type AgentTask,
  type BridgeEvent,
  type BridgeEventType,
  type BridgeTransportKind,
  type ExecutionMetrics,
  type ExecutionState,
  type ExecutionStatus,
  type ExecutionStatusBody,
  type ExecutionSummary,
  type HealthMetrics,
  type StreamMessageType,
  type TaskStatus,
} from './bridge-state.ts';
export type { EventSourceConstructor, EventSourceLike, WebSocketConstructor, WebSocketLike } from './transports.ts';
export { definitionOfStrategy } from './strategy-definition.ts';
export type { StrategyDefinitionInput } from '@strata/engine';
