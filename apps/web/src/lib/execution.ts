/**
 * What the execution views derive from the API's state, kept out of the components: which
 * controls make sense in a status (the contract's rules, the engine's own), how a status and a
 * health score read, progress, attempts, why a task was skipped, a task's files and outputs.
 */
import type { AgentTask, ExecutionState } from '@strata/client';
import { allowedActions, type ControlAction, isRetryableStatus, isTerminalStatus, type SkipReason, TASK_STATUSES, type TaskStatus } from '@strata/engine/contract';
import type { DagEdge, DagNode } from './components/dag/layout.ts';

export type { ControlAction } from '@strata/engine/contract';
export type Tone = 'ok' | 'warn' | 'danger' | 'info' | 'idle';

export const isTerminal = (status: string) => isTerminalStatus(status);

/** The controls offered in a status: exactly the transitions the engine accepts from it. */
export function availableControls(status: string): Record<ControlAction, boolean> {
  return allowedActions(status);
}

type ExecutionLike = { status: string; failedTasks?: number | undefined };

/**
 * May this run be re-run (`POST /api/executions/:id/retry`)? Failed or cancelled, and settled:
 * until the tasks still running when it failed or was cancelled have finished, the engine
 * refuses (what they come to decides what is carried over).
 */
export const canRetry = (execution: { status: string; completedAt?: string | null | undefined }): boolean => isRetryableStatus(execution.status) && Boolean(execution.completedAt);

/** A run's status as people should read it: a completed run with failed tasks is not a plain green "completed". */
export function runStatusView(execution: ExecutionLike, skipped = 0): { label: string; tone: Tone } {
  const failed = execution.failedTasks ?? 0;
  switch (execution.status) {
    case 'completed':
      if (failed > 0) return { label: `completed · ${failed} failed`, tone: 'warn' };
      if (skipped > 0) return { label: `completed · ${skipped} skipped`, tone: 'warn' };
      return { label: 'completed', tone: 'ok' };
    case 'failed':
      return { label: 'failed', tone: 'danger' };
    case 'cancelled':
      return { label: 'cancelled', tone: 'warn' };
    case 'paused':
      return { label: 'paused', tone: 'warn' };
    case 'running':
      return { label: 'running', tone: 'info' };
    default:
      return { label: execution.status.replaceAll('_', ' '), tone: 'idle' };
  }
}

/**
 * The health gauge's tone: below 60 is a warning, below 30 bad; a failed run is bad and a
 * cancelled one a warning whatever the score, and a run with failed tasks is never "healthy".
 */
export function healthTone(score: number, execution: ExecutionLike): { tone: Tone; label: string } {
  if (execution.status === 'failed') return { tone: 'danger', label: 'run failed' };
  if (execution.status === 'cancelled') return { tone: 'warn', label: 'run cancelled' };
  if (score < 30) return { tone: 'danger', label: 'unhealthy' };
  if (score < 60 || (execution.failedTasks ?? 0) > 0) return { tone: 'warn', label: 'degraded' };
  return { tone: 'ok', label: 'healthy' };
}

export interface Progress {
  total: number;
  completed: number;
  failed: number;
  skipped: number;
  running: number;
  /** Settled (completed, failed or skipped) over total, 0–1. */
  done: number;
}

/**
 * Progress from the live tasks (every task change has its event, so these are never stale);
 * the execution's counts when the tasks are not all known.
 */
export function progressOf(state: Pick<ExecutionState, 'execution' | 'tasks'>): Progress {
  const total = Math.max(state.execution.totalTasks ?? 0, state.tasks.length);
  let completed = 0;
  let failed = 0;
  let skipped = 0;
  let running = 0;
  for (const task of state.tasks) {
    if (task.status === 'completed') completed++;
    else if (task.status === 'failed') failed++;
    else if (task.status === 'skipped') skipped++;
    else if (task.status === 'in_progress') running++;
  }
  if (state.tasks.length < total) {
    completed = Math.max(completed, state.execution.completedTasks ?? 0);
    failed = Math.max(failed, state.execution.failedTasks ?? 0);
  }
  const settled = completed + failed + skipped;
  return { total, completed, failed, skipped, running, done: total === 0 ? (isTerminal(state.execution.status) ? 1 : 0) : settled / total };
}

/** How long the run has taken: to its end, or to `now` while it runs. */
export function runDuration(execution: { startedAt?: string | null | undefined; completedAt?: string | null | undefined }, now: number): number | null {
  if (!execution.startedAt) return null;
  const start = Date.parse(execution.startedAt);
  const end = execution.completedAt ? Date.parse(execution.completedAt) : now;
  return Number.isNaN(start) ? null : Math.max(0, end - start);
}

/** The attempts a task made, and what its retries came to, in words that never contradict its status. */
export function attemptsView(task: AgentTask): { text: string; detail: string | null } {
  const retries = task.retry_count ?? 0;
  const max = task.max_retries ?? 0;
  // Carried over by a re-run: it completed in the execution this one retries, and did not run here.
  if (task.reused) return { text: '—', detail: 'carried over, not run again' };
  const started = Boolean(task.started_at) || ['in_progress', 'completed', 'failed'].includes(task.status) || retries > 0;
  const attempts = started ? retries + 1 : retries;
  const text = `${attempts} of ${max + 1}`;
  if (task.status === 'failed') {
    return { text, detail: retries >= max ? `failed after ${attempts} attempt${attempts === 1 ? '' : 's'}, no retry left` : 'failed without retrying: the error cannot be fixed by retrying' };
  }
  if (retries > 0 && task.status !== 'completed') return { text, detail: `retry ${retries} of ${max}` };
  return { text, detail: null };
}

const SKIP_TEXT: Record<SkipReason, string> = {
  cancelled: 'the execution was cancelled before it started',
  'execution-failed': 'the execution failed (another task failed) before it started',
  'dependency-failed': 'a task it depends on failed',
};

/** Why a skipped task did not run. */
export function skipReasonText(task: AgentTask): string | null {
  if (task.status !== 'skipped') return null;
  return task.skip_reason ? SKIP_TEXT[task.skip_reason] : 'it did not run';
}

type AgentStats = { tasksCompleted: number; tasksFailed: number; avgDuration: number };

/** Per agent type: the engine's `agentStatus` (completed, failed, average duration) beside the live task and running counts. */
export function agentRows(agentStatus: Record<string, AgentStats> | undefined, tasks: readonly AgentTask[]): ({ name: string; total: number; running: number } & AgentStats)[] {
  const totals = new Map<string, { total: number; running: number }>();
  for (const task of tasks) {
    const agent = task.agent_type ?? 'unknown';
    const entry = totals.get(agent) ?? { total: 0, running: 0 };
    entry.total++;
    if (task.status === 'in_progress') entry.running++;
    totals.set(agent, entry);
  }
  const names = [...new Set([...totals.keys(), ...Object.keys(agentStatus ?? {})])].sort();
  return names.map((name) => ({ name, ...(totals.get(name) ?? { total: 0, running: 0 }), ...(agentStatus?.[name] ?? { tasksCompleted: 0, tasksFailed: 0, avgDuration: 0 }) }));
}

/** The strategy item's input for a task: by its item id, else by its key. */
export function itemInput(items: readonly { id: string; key: string; input: Record<string, unknown> }[], task: AgentTask): Record<string, unknown> | null {
  return (items.find((item) => item.id === task.l4_item_id) ?? items.find((item) => item.key === taskKey(task)))?.input ?? null;
}

/** How long the task's current attempt ran (to now while it runs). */
export function taskDuration(task: AgentTask, now: number): number | null {
  if (!task.started_at) return null;
  const start = Date.parse(task.started_at);
  const end = task.completed_at ? Date.parse(task.completed_at) : task.status === 'in_progress' ? now : Number.NaN;
  return Number.isNaN(start) || Number.isNaN(end) ? null : Math.max(0, end - start);
}

/**
 * When a waiting task wakes, or null. The status body gives `wake_at`; a `task-progress` event
 * carries `waitingUntil` when a task starts waiting (the bridge folds it into `wake_at`).
 */
export function wakeAt(task: AgentTask): string | null {
  return task.status === 'in_progress' && task.wake_at ? task.wake_at : null;
}

/** What holds a task waiting for a limit (without a worker or an attempt), or null. */
export function throttleOf(task: AgentTask): NonNullable<AgentTask['throttle']> | null {
  const waiting = task.status === 'assigned' || (task.status === 'in_progress' && Boolean(task.wake_at));
  return waiting && task.throttle ? task.throttle : null;
}

/** Which limit holds a throttled task, in words: `limit concurrency: 2 email tasks at once`. */
export function throttleText(throttle: NonNullable<AgentTask['throttle']>): string {
  const next = throttle.retryAt ? `, next start ${new Date(throttle.retryAt).toLocaleTimeString()}` : '';
  const what: Record<typeof throttle.limit, string> = {
    concurrency: `${throttle.max} ${throttle.agentType} tasks at once`,
    perMinute: `${throttle.max} ${throttle.agentType} starts a minute${next}`,
    maxConcurrency: `${throttle.max} tasks of this execution at once`,
    keyConcurrency: `${throttle.max} at once for ${throttle.key ?? 'its key'}`,
    keyPerMinute: `${throttle.max} starts a minute for ${throttle.key ?? 'its key'}${next}`,
  };
  return `limit ${throttle.limit}: ${what[throttle.limit]}`;
}

/** The status shown for a task: one waiting for a limit reads "throttled", one in a durable wait "waiting". */
export const taskDisplayStatus = (task: AgentTask) => (throttleOf(task) ? 'throttled' : wakeAt(task) ? 'waiting' : task.status);

/** The task's label: its key (the strategy item's) when the API gives one. */
export const taskKey = (task: AgentTask) => task.key || task.id;

export interface TaskFilter {
  status: string;
  agent: string;
  search: string;
}

/** The tasks a filter keeps: by display status, agent type, and text in key, description, id or error. */
export function filterTasks(tasks: readonly AgentTask[], filter: TaskFilter): AgentTask[] {
  const needle = filter.search.trim().toLowerCase();
  if (!needle && filter.status === 'all' && filter.agent === 'all') return tasks as AgentTask[];
  return tasks.filter(
    (task) =>
      (filter.status === 'all' || taskDisplayStatus(task) === filter.status) &&
      (filter.agent === 'all' || task.agent_type === filter.agent) &&
      (!needle ||
        taskKey(task).toLowerCase().includes(needle) ||
        task.id.toLowerCase().includes(needle) ||
        (task.description ?? '').toLowerCase().includes(needle) ||
        (task.error ?? '').toLowerCase().includes(needle)),
  );
}

const byKey = (a: AgentTask, b: AgentTask) => taskKey(a).localeCompare(taskKey(b));

/**
 * Tasks in the order they can run: those with no dependencies first, then each task after the
 * ones it depends on (level by level), by key within a level. Task ids are random, so the API's
 * order says nothing to a reader.
 */
export function sortedTasks(tasks: readonly AgentTask[]): AgentTask[] {
  const ids = new Set(tasks.map((task) => task.id));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, AgentTask[]>();
  for (const task of tasks) {
    const dependencies = (task.dependencies ?? []).filter((id) => ids.has(id));
    waitingOn.set(task.id, dependencies.length);
    for (const id of dependencies) {
      const list = dependents.get(id);
      if (list) list.push(task);
      else dependents.set(id, [task]);
    }
  }
  const sorted: AgentTask[] = [];
  let level = tasks.filter((task) => waitingOn.get(task.id) === 0).sort(byKey);
  while (level.length > 0) {
    sorted.push(...level);
    const next: AgentTask[] = [];
    for (const task of level) {
      for (const dependent of dependents.get(task.id) ?? []) {
        const left = (waitingOn.get(dependent.id) ?? 1) - 1;
        waitingOn.set(dependent.id, left);
        if (left === 0) next.push(dependent);
      }
    }
    level = next.sort(byKey);
  }
  // A cycle cannot start, but nothing is ever hidden.
  if (sorted.length < tasks.length) {
    const placed = new Set(sorted.map((task) => task.id));
    sorted.push(...tasks.filter((task) => !placed.has(task.id)).sort(byKey));
  }
  return sorted;
}

/** How the page is connected to the execution's stream, in words. */
export function connectionLabel(
  state: { connected: boolean; finished: boolean; transport: string | null; connectionError: string | null; execution?: { status: string; completedAt?: string | null | undefined } } | null,
  connectError: string | null,
): { text: string; tone: 'live' | 'idle' | 'problem' } {
  // A settled execution (its final event written) has nothing more to stream, whatever the socket is doing.
  if (state?.finished || (state?.execution?.completedAt && isTerminal(state.execution.status))) return { text: 'finished', tone: 'idle' };
  if (state?.connected) return { text: `live · ${state.transport === 'sse' ? 'SSE' : 'WebSocket'}`, tone: 'live' };
  // Once a state has arrived, a stream that is not open is one that was lost (the bridge reconnects).
  if (connectError || state?.connectionError || state) return { text: 'connection lost · reconnecting…', tone: 'problem' };
  return { text: 'connecting…', tone: 'idle' };
}

const record = (value: unknown): Record<string, unknown> | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null);
const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/**
 * A completed task whose result this page has not got: the stream's state carries no results
 * (they ride on task-completed events), so a task that completed before the page opened, or
 * whose result was too large for its event, is read from GET /api/executions/:id/tasks/:taskId.
 */
export const resultUnknown = (task: AgentTask): boolean => task.status === 'completed' && (task.result_omitted === true || !('result' in task));

/** A scheduling task's result carries an iCalendar file: `{ ics, filename }`. */
export function calendarFile(task: AgentTask): { ics: string; filename: string } | null {
  const result = record(task.result);
  const ics = text(result?.ics);
  if (!ics) return null;
  const name = text(result?.filename)?.trim() || `${taskKey(task)}.ics`;
  return { ics, filename: name.endsWith('.ics') ? name : `${name}.ics` };
}

/** What a task produced, in the form the drawer renders it. */
export type TaskOutput =
  | { kind: 'email'; delivered: string; to: string[]; subject: string; outboxId: string | null }
  | { kind: 'content'; text: string; provider: string | null; note: string | null }
  | { kind: 'research'; sources: { url: string; title: string | null; description: string | null; status: number | null; excerpt: string }[] }
  | { kind: 'calendar'; ics: string; filename: string; events: number }
  | { kind: 'table'; columns: string[]; rows: unknown[][] }
  | { kind: 'json'; value: unknown }
  | { kind: 'none' };

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : []);

/** Reads a task's result by its agent type, falling back to JSON for anything unexpected. */
export function taskOutput(task: AgentTask): TaskOutput {
  if (task.result === undefined || task.result === null) return { kind: 'none' };
  const result = record(task.result);
  if (!result) return { kind: 'json', value: task.result };
  const calendar = calendarFile(task);
  if (calendar) return { kind: 'calendar', ...calendar, events: Array.isArray(result.events) ? result.events.length : 0 };
  if (task.agent_type === 'email' && text(result.subject) !== null) {
    return { kind: 'email', delivered: text(result.delivered) ?? 'sent', to: list(result.to), subject: text(result.subject) ?? '', outboxId: text(result.outboxId) };
  }
  if (typeof result.text === 'string' && (task.agent_type === 'content' || 'kind' in result)) {
    return { kind: 'content', text: result.text, provider: text(result.provider), note: text(result.note) };
  }
  if (Array.isArray(result.sources)) {
    return {
      kind: 'research',
      sources: result.sources.map((raw) => {
        const source = record(raw) ?? {};
        return {
          url: text(source.finalUrl) ?? text(source.url) ?? '',
          title: text(source.title),
          description: text(source.description),
          status: typeof source.status === 'number' ? source.status : null,
          excerpt: (text(source.text) ?? '').slice(0, 600),
        };
      }),
    };
  }
  const table = record(result.table);
  if (table && Array.isArray(table.columns) && Array.isArray(table.rows)) {
    return { kind: 'table', columns: table.columns.map(String), rows: table.rows.map((row) => (Array.isArray(row) ? row : Object.values(record(row) ?? {}))) };
  }
  return { kind: 'json', value: task.result };
}

/** A table cell as text. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * An execution's dependency graph for the Dag component: a node per task coloured by its live
 * status, an edge from each dependency to its dependant (dependencies are task ids).
 */
export function taskGraph(tasks: readonly AgentTask[]): { nodes: DagNode[]; edges: DagEdge[] } {
  const ids = new Set(tasks.map((t) => t.id));
  return {
    nodes: tasks.map((t) => ({
      id: t.id,
      label: t.key ?? t.id,
      sublabel: t.agent_type,
      ...(isTaskStatus(t.status) ? { status: t.status } : {}),
    })),
    edges: tasks.flatMap((t) => (t.dependencies ?? []).filter((d) => ids.has(d)).map((d) => ({ from: d, to: t.id }))),
  };
}

const isTaskStatus = (status: string): status is TaskStatus => (TASK_STATUSES as readonly string[]).includes(status);
