/**
 * What the execution views derive from the API's state, kept out of the components: which
 * controls make sense in a status, a task's calendar file, a task's wake-up time.
 */
import type { AgentTask } from '@strata/client';

export type ControlAction = 'pause' | 'resume' | 'cancel';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export const isTerminal = (status: string) => TERMINAL.has(status);

/** The controls offered in a status; the API still has the last word (409 on a race). */
export function availableControls(status: string): Record<ControlAction, boolean> {
  return {
    pause: status === 'running' || status === 'pending',
    resume: status === 'paused',
    cancel: !isTerminal(status),
  };
}

/** A scheduling task's result carries an iCalendar file: `{ ics, filename }`. */
export function calendarFile(task: AgentTask): { ics: string; filename: string } | null {
  const result = task.result;
  if (typeof result !== 'object' || result === null) return null;
  const { ics, filename } = result as { ics?: unknown; filename?: unknown };
  if (typeof ics !== 'string' || !ics) return null;
  const name = typeof filename === 'string' && filename.trim() ? filename.trim() : `${task.key ?? task.id}.ics`;
  return { ics, filename: name.endsWith('.ics') ? name : `${name}.ics` };
}

/**
 * When a waiting task wakes, or null. The status body gives `wake_at`; a `task-progress` event
 * carries `waitingUntil` when a task starts waiting (and none when it runs again), which the
 * bridge does not fold into its state, so the live view passes what it heard as `heard`.
 */
export function wakeAt(task: AgentTask, heard: ReadonlyMap<string, string | null>): string | null {
  if (task.status !== 'in_progress') return null;
  if (heard.has(task.id)) return heard.get(task.id) ?? null;
  return typeof task.wake_at === 'string' ? task.wake_at : null;
}

/** The task's label: its key (the strategy item's) when the API gives one. */
export const taskKey = (task: AgentTask) => (typeof task.key === 'string' && task.key ? task.key : task.id);

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
    for (const id of dependencies) dependents.set(id, [...(dependents.get(id) ?? []), task]);
  }
  const sorted: AgentTask[] = [];
  let level = tasks.filter((task) => waitingOn.get(task.id) === 0).sort(byKey);
  while (level.length > 0) {
    sorted.push(...level);
    const next: AgentTask[] = [];
    for (const task of level) {
      for (const dependent of dependents.get(task.id) ?? []) {
        const left = waitingOn.get(dependent.id)! - 1;
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

const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/** When the task's current attempt started (`started_at`; live, `assigned_at` until the next snapshot). */
export const taskStartedAt = (task: AgentTask) => text(task.started_at) ?? text(task.assigned_at);

/** How the page is connected to the execution's stream, in words. */
export function connectionLabel(state: { connected: boolean; finished: boolean; transport: string | null; connectionError: string | null } | null, connectError: string | null): { text: string; tone: 'live' | 'idle' | 'problem' } {
  if (connectError) return { text: 'not connected', tone: 'problem' };
  if (!state) return { text: 'connecting…', tone: 'idle' };
  if (state.finished) return { text: 'finished', tone: 'idle' };
  if (state.connected) return { text: `live · ${state.transport === 'sse' ? 'SSE' : 'WebSocket'}`, tone: 'live' };
  if (state.connectionError) return { text: 'reconnecting…', tone: 'problem' };
  return { text: 'connecting…', tone: 'idle' };
}

/** A health score's tone: 80+ fine, 50+ worrying, below that bad. */
export const scoreTone = (score: number) => (score >= 80 ? 'ok' : score >= 50 ? 'warn' : 'danger');
