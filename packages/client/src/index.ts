export { createStrataClient, type StrataClient, type StrataClientOptions } from './trpc.ts';
export {
  type AnswerResponse,
  type Approval,
  type ControlResponse,
  type PendingApproval,
  type RestClientOptions,
  type RetryResponse,
  type ScheduleFields,
  type SignalResponse,
  StrataApiError,
  StrataRestClient,
  type StartResponse,
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
