/**
 * How `strata follow` draws an execution: pure functions from the bridge's state (and the
 * events) to text, so the drawing is tested without a terminal.
 */
import { type AgentTask, type BridgeEvent, type ExecutionState, TASK_STATUSES } from '@strata/client';

export interface DrawOptions {
  /** Terminal width in columns. */
  columns: number;
  color: boolean;
  /** Task id → the item key it runs (the stream's tasks carry the seed's fields only). */
  keys: ReadonlyMap<string, string>;
  /** At most this many failing tasks listed. */
  maxFailing?: number;
}

const COLORS: Record<string, string> = {
  pending: '\x1b[37m',
  assigned: '\x1b[34m',
  in_progress: '\x1b[36m',
  completed: '\x1b[32m',
  failed: '\x1b[31m',
  skipped: '\x1b[90m',
  running: '\x1b[36m',
  paused: '\x1b[33m',
  cancelled: '\x1b[33m',
};
const RESET = '\x1b[0m';
const paint = (on: boolean, name: string, text: string) => (on && COLORS[name] ? `${COLORS[name]}${text}${RESET}` : text);

/** Tasks per state, every state present. */
export function countByStatus(tasks: readonly AgentTask[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0]));
  for (const task of tasks) counts[task.status] = (counts[task.status] ?? 0) + 1;
  return counts;
}

/** A task that failed for good, or whose last attempt failed and that waits to run again. */
export function failingTasks(tasks: readonly AgentTask[]): AgentTask[] {
  return tasks.filter((t) => t.status === 'failed' || (t.error && t.status !== 'completed' && t.status !== 'skipped'));
}

export const taskName = (task: Pick<AgentTask, 'id' | 'description'>, keys: ReadonlyMap<string, string>) => keys.get(task.id) ?? task.description ?? task.id;

function bar(count: number, total: number, width: number): string {
  const filled = total > 0 ? Math.round((count / total) * width) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** The whole picture for a terminal: a bar per task state, the health score, the failing tasks. */
export function drawFrame(state: ExecutionState, options: DrawOptions): string[] {
  const { execution, health } = state;
  const tasks = state.tasks;
  const total = Math.max(tasks.length, execution.totalTasks ?? 0);
  const width = Math.max(10, Math.min(40, options.columns - 32));
  const counts = countByStatus(tasks);
  const connection = state.connectionError && !state.finished ? `  (reconnecting: ${state.connectionError})` : '';
  const lines = [`Execution ${execution.id}  ${paint(options.color, execution.status, String(execution.status))}${connection}`];
  for (const status of TASK_STATUSES) {
    const count = counts[status] ?? 0;
    lines.push(`  ${status.padEnd(12)} ${paint(options.color, status, bar(count, total, width))} ${String(count).padStart(4)}/${total}`);
  }
  const score = Math.round(health.score);
  const healthColor = score >= 80 ? 'completed' : score >= 60 ? 'paused' : 'failed';
  lines.push(`  ${'health'.padEnd(12)} ${paint(options.color, healthColor, bar(score, 100, width))} ${String(score).padStart(4)}/100`);
  const failing = failingTasks(tasks);
  if (failing.length > 0) {
    const max = options.maxFailing ?? 8;
    lines.push('Failing tasks:');
    for (const task of failing.slice(0, max)) {
      const retry = task.status === 'failed' ? 'failed' : `retrying, attempt ${(task.retry_count ?? 0) + 1}${task.max_retries !== undefined ? ` of ${task.max_retries + 1}` : ''}`;
      lines.push(clip(`  ${paint(options.color, 'failed', '✗')} ${taskName(task, options.keys)} (${task.agent_type ?? 'agent'}, ${retry}): ${task.error ?? ''}`, options.columns));
    }
    if (failing.length > max) lines.push(`  … and ${failing.length - max} more`);
  }
  return lines;
}

function clip(line: string, columns: number): string {
  // Colour codes take no room; clip by what is visible only when there are none to break.
  return line.includes('\x1b[') || line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 1))}…`;
}

/** One line per event worth a line, for logs and pipes (stdout not a terminal). */
export function eventLine(event: BridgeEvent, state: ExecutionState, keys: ReadonlyMap<string, string>): string | undefined {
  const data = event.data as Record<string, unknown>;
  const taskId = typeof data.taskId === 'string' ? data.taskId : undefined;
  const task = taskId ? (state.tasks.find((t) => t.id === taskId) ?? { id: taskId }) : undefined;
  const name = task ? taskName(task, keys) : '';
  const { execution } = state;
  const progress = `${execution.completedTasks}/${execution.totalTasks} completed, ${execution.failedTasks} failed`;
  switch (event.type) {
    case 'state':
      return `${execution.id} ${execution.status}: ${progress}, health ${Math.round(state.health.score)}`;
    case 'task-assigned':
      return `task ${name} assigned`;
    case 'task-progress':
      return data.status === 'in_progress' && typeof data.attempt === 'number' ? `task ${name} started (attempt ${data.attempt})` : undefined;
    case 'task-completed':
      return `task ${name} completed (${progress})`;
    case 'task-failed':
      return `task ${name} failed${data.willRetry === true ? ' (will retry)' : ''}: ${String(data.error ?? '')}`;
    case 'health-update':
      return `health ${Math.round(state.health.score)}`;
    case 'execution-paused':
    case 'execution-resumed':
    case 'execution-started':
      return `${execution.id} ${event.type.replace('execution-', '')}`;
    case 'execution-completed':
    case 'execution-cancelled':
    case 'error':
      return summaryLine(state);
    default:
      return undefined;
  }
}

/** The closing line: final status, counts and health. */
export function summaryLine(state: ExecutionState): string {
  const counts = countByStatus(state.tasks);
  const error = state.execution.status === 'failed' && state.execution.error ? ` (${state.execution.error})` : '';
  return `${state.execution.id} ${state.execution.status}${error}: ${counts.completed} completed, ${counts.failed} failed, ${counts.skipped} skipped of ${state.tasks.length}; health ${Math.round(state.health.score)}`;
}
