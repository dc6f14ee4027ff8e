/**
 * The live state of one execution as the bridge keeps it, and how each stream message changes
 * it. Pure functions: `applyStreamEvent` returns a new state object (the parts it changed are new
 * objects too), so UI frameworks can compare by reference.
 */

import {
  type EventType,
  type ExecutionStatus,
  type ExecutionView,
  EVENT_TYPES,
  type Health,
  isTerminalStatus,
  type Metrics,
  SKIP_REASONS,
  type SkipReason,
  TASK_STATUSES,
  type TaskView,
} from '@strata/engine/contract';

export { FINAL_EVENT_TYPES, isTerminalStatus, TASK_STATUSES, type ExecutionStatus, type TaskStatus } from '@strata/engine/contract';

/** The seed's twelve event types (the contract's). */
export type BridgeEventType = EventType;

/** Every message type on the stream: the snapshot `state`, then the seed's events. */
export type StreamMessageType = 'state' | BridgeEventType;

export const BRIDGE_EVENT_TYPES: readonly BridgeEventType[] = EVENT_TYPES;

/**
 * The status body's parts as the bridge keeps them: the contract's shapes, with every field
 * but the identifying ones optional, because a stream may name a task (or a count) before a
 * snapshot described it in full.
 */
export type ExecutionSummary = Partial<Omit<ExecutionView, 'status'>> & Pick<ExecutionView, 'id' | 'totalTasks' | 'completedTasks' | 'failedTasks'> & { status: ExecutionStatus | (string & {}) };
export type HealthMetrics = Partial<Health> & Pick<Health, 'score'>;
export type AgentTask = Partial<Omit<TaskView, 'status'>> & {
  id: string;
  status: TaskView['status'] | (string & {});
  /** The result was too large to ride on its event: read it from the status endpoint. */
  result_omitted?: boolean;
};
export type ExecutionMetrics = Partial<Metrics>;

/** The status endpoint's body: the `data` of a `state` message, as far as the bridge knows it. */
export interface ExecutionStatusBody {
  execution: ExecutionSummary;
  health: HealthMetrics;
  tasks: AgentTask[];
  metrics: ExecutionMetrics;
}

/** One message of the stream, exactly as on the wire. */
export interface BridgeEvent<T = Record<string, unknown>> {
  id: number;
  type: StreamMessageType | (string & {});
  executionId: string;
  timestamp: string;
  data: T;
}

export type BridgeTransportKind = 'websocket' | 'sse';

/** What `subscribe` listeners receive. */
export interface ExecutionState extends ExecutionStatusBody {
  executionId: string;
  /** The id of the last event received; where a reconnect resumes. */
  lastEventId: number;
  /** True while a stream is open. */
  connected: boolean;
  /** The transport of the current (or last) stream. */
  transport: BridgeTransportKind | null;
  /** True once the execution's final event arrived (or a settled execution's stream ended). */
  finished: boolean;
  /** Why the last connection attempt failed, while reconnecting or after giving up; null when fine. */
  connectionError: string | null;
}

/** A state before the first `state` message: nothing known but the id. */
export function createInitialState(executionId: string): ExecutionState {
  return {
    executionId,
    execution: {
      id: executionId,
      status: 'pending',
      strategyId: '',
      startedAt: null,
      completedAt: null,
      totalTasks: 0,
      completedTasks: 0,
      failedTasks: 0,
    },
    health: { score: 100 },
    tasks: [],
    metrics: {},
    lastEventId: 0,
    connected: false,
    transport: null,
    finished: false,
    connectionError: null,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const TASK_STATUS_SET: ReadonlySet<unknown> = new Set(TASK_STATUSES);
const taskStatusOf = (value: unknown): TaskView['status'] | undefined => (TASK_STATUS_SET.has(value) ? (value as TaskView['status']) : undefined);

/**
 * Applies one stream message to the execution part of a state (execution, health, tasks,
 * metrics) and returns the new state; connection fields are left as they are. Messages of
 * unknown types return the state unchanged.
 */
export function applyStreamEvent(state: ExecutionState, event: BridgeEvent): ExecutionState {
  const data: Record<string, unknown> = isRecord(event.data) ? event.data : {};
  switch (event.type) {
    case 'state':
      return applySnapshot(state, data);
    case 'task-assigned':
      return updateTask(state, data, (task) => ({
        ...task,
        status: 'assigned',
        assigned_at: str(data.assignedAt) ?? event.timestamp ?? task.assigned_at,
        ...(typeof data.retryCount === 'number' ? { retry_count: data.retryCount } : {}),
      }));
    case 'task-progress':
      return updateTask(state, data, (task) => ({
        ...task,
        // A status that is not a task's (waiting_for_approval, approval_answered, signal_received) says what the running task is doing.
        status: taskStatusOf(data.status) ?? 'in_progress',
        ...('progress' in data ? { progress: data.progress } : {}),
        // Waiting for a limit (progress `{ status: "throttled", ... }`) until the next change of the task.
        throttle: isRecord(data.progress) && data.progress.status === 'throttled' ? (data.progress as AgentTask['throttle']) : null,
        // A claim (an attempt starting on a worker) names its attempt: the task started now.
        ...(data.status === 'in_progress' && typeof data.attempt === 'number' ? { started_at: event.timestamp } : {}),
        // A durable wait (coordination) reports its wake-up time; any other progress means it runs.
        wake_at: str(data.waitingUntil) ?? (data.progress === undefined ? null : (task.wake_at ?? null)),
      }));
    case 'task-completed':
      return updateTask(state, data, (task) => ({
        ...task,
        status: 'completed',
        completed_at: str(data.completedAt) ?? event.timestamp ?? task.completed_at,
        ...('result' in data ? { result: data.result } : {}),
        ...(data.resultOmitted === true ? { result_omitted: true } : {}),
        // Carried over by a re-run: completed without an agent run, its result the original's.
        ...(data.reused === true ? { reused: true } : {}),
      }));
    case 'task-failed': {
      const retryCount = typeof data.retryCount === 'number' ? { retry_count: data.retryCount } : {};
      const error = 'error' in data ? { error: data.error == null ? null : String(data.error) } : {};
      // A failed attempt with retries left waits to run again: the server puts it back to
      // `pending` and sends `task-assigned` when it is queued (after the backoff's start).
      if (data.willRetry === true) {
        return updateTask(state, data, (task) => ({ ...task, ...error, ...retryCount, status: 'pending', ...('progress' in task ? { progress: null } : {}) }));
      }
      // Final. A server may say the task was skipped rather than failed (an attempt that ended
      // after its execution was cancelled); by default it failed.
      const status = data.status === 'skipped' ? 'skipped' : 'failed';
      const reason = status === 'skipped' && isSkipReason(data.reason) ? { skip_reason: data.reason } : {};
      return updateTask(state, data, (task) => ({ ...task, ...error, ...retryCount, ...reason, status, ...(status === 'failed' ? { completed_at: event.timestamp ?? task.completed_at } : {}) }));
    }
    case 'health-update':
      return { ...state, health: { ...(data as HealthMetrics) } };
    case 'metrics-update':
      return { ...state, metrics: { ...(data as ExecutionMetrics) } };
    case 'execution-started':
      return updateExecution(state, data, 'running', event.timestamp);
    case 'execution-paused':
      return updateExecution(state, data, 'paused', event.timestamp);
    case 'execution-resumed':
      return updateExecution(state, data, 'running', event.timestamp);
    case 'execution-completed':
      return updateExecution(state, data, 'completed', event.timestamp);
    case 'execution-cancelled':
      return updateExecution(state, data, 'cancelled', event.timestamp);
    case 'error':
      return updateExecution(state, data, 'failed', event.timestamp);
    default:
      return state;
  }
}

function applySnapshot(state: ExecutionState, data: Record<string, unknown>): ExecutionState {
  const execution = isRecord(data.execution) ? (data.execution as ExecutionSummary) : state.execution;
  return {
    ...state,
    execution: { ...execution },
    health: isRecord(data.health) ? { ...(data.health as HealthMetrics) } : state.health,
    tasks: Array.isArray(data.tasks) ? mergeSnapshotTasks(state.tasks, data.tasks as AgentTask[]) : state.tasks,
    metrics: isRecord(data.metrics) ? { ...(data.metrics as ExecutionMetrics) } : state.metrics,
  };
}

/**
 * A snapshot's tasks, each keeping the result a `task-completed` event brought before (a
 * snapshot carries results only when asked with `include=results`, and a task completes once).
 */
function mergeSnapshotTasks(before: readonly AgentTask[], snapshot: readonly AgentTask[]): AgentTask[] {
  const positions = positionsOf(before);
  return snapshot.map((task) => {
    const known = before[positions.get(task.id) ?? -1];
    if (!known || task.status !== 'completed' || known.status !== 'completed' || 'result' in task) return { ...task };
    return { ...task, ...('result' in known ? { result: known.result } : {}), ...(known.result_omitted ? { result_omitted: true } : {}) };
  });
}

/**
 * Where each task sits in a tasks array, built once per array (arrays are never changed in
 * place), so an event for one of 5,000 tasks does not search them all.
 */
const taskPositions = new WeakMap<readonly AgentTask[], Map<string, number>>();
function positionsOf(tasks: readonly AgentTask[]): Map<string, number> {
  let positions = taskPositions.get(tasks);
  if (!positions) {
    positions = new Map(tasks.map((task, i) => [task.id, i]));
    taskPositions.set(tasks, positions);
  }
  return positions;
}

const isSkipReason = (value: unknown): value is SkipReason => typeof value === 'string' && (SKIP_REASONS as readonly string[]).includes(value);

/** Changes one task (adding it when the snapshot did not list it) and keeps the counts in step. */
function updateTask(state: ExecutionState, data: Record<string, unknown>, change: (task: AgentTask) => AgentTask): ExecutionState {
  const taskId = str(data.taskId);
  if (!taskId) return state;
  const positions = positionsOf(state.tasks);
  const index = positions.get(taskId) ?? -1;
  const before: AgentTask | undefined = state.tasks[index];
  const after = change(before ?? { id: taskId, status: 'pending' });
  let tasks: AgentTask[];
  if (index >= 0) {
    tasks = state.tasks.slice();
    tasks[index] = after;
    // Same ids at the same places: the new array shares the lookup.
    taskPositions.set(tasks, positions);
  } else {
    tasks = [...state.tasks, after];
  }
  // Counts move by the task's own transition, so they stay right even if the snapshot listed
  // only some tasks; a task is counted once however often an event repeats.
  const delta = (status: string) => (after.status === status ? 1 : 0) - (before?.status === status ? 1 : 0);
  const completed = delta('completed');
  const failed = delta('failed');
  const execution =
    completed || failed
      ? {
          ...state.execution,
          completedTasks: Math.max(0, (state.execution.completedTasks ?? 0) + completed),
          failedTasks: Math.max(0, (state.execution.failedTasks ?? 0) + failed),
        }
      : state.execution;
  return { ...state, tasks, execution };
}

/**
 * An execution-level event: its data (status, counts, timestamps) is merged into `execution`,
 * the status defaulting to what the event type means. A settled execution's tasks that never
 * started are skipped, as the server does.
 */
function updateExecution(state: ExecutionState, data: Record<string, unknown>, status: ExecutionStatus, timestamp: string | undefined): ExecutionState {
  const { taskId: _taskId, ...fields } = data;
  const nextStatus = str(fields.status) ?? status;
  const execution: ExecutionSummary = { ...state.execution, ...fields, status: nextStatus };
  if (fields.error !== undefined) execution.error = String(fields.error);
  if (isTerminalStatus(nextStatus) && !execution.completedAt && timestamp) execution.completedAt = timestamp;
  if (nextStatus === 'running' && !execution.startedAt && timestamp) execution.startedAt = timestamp;
  let tasks = state.tasks;
  // A settled execution has no task left to run: those that never started were skipped
  // (cancel; a failure; or, with onTaskFailure "continue", the failed task's dependents).
  if (isTerminalStatus(nextStatus)) {
    // A task still waiting (a durable wait) is cut short too.
    const unstarted = (task: AgentTask) => task.status === 'pending' || task.status === 'assigned' || (task.status === 'in_progress' && Boolean(task.wake_at));
    if (tasks.some(unstarted)) tasks = tasks.map((task) => (unstarted(task) ? { ...task, status: 'skipped' } : task));
  }
  // Counts the server sends win; otherwise they follow the tasks.
  if (typeof fields.completedTasks !== 'number' && tasks.length > 0 && tasks.length >= (execution.totalTasks ?? 0)) {
    execution.completedTasks = tasks.filter((task) => task.status === 'completed').length;
  }
  if (typeof fields.failedTasks !== 'number' && tasks.length > 0 && tasks.length >= (execution.totalTasks ?? 0)) {
    execution.failedTasks = tasks.filter((task) => task.status === 'failed').length;
  }
  return { ...state, execution, tasks };
}
