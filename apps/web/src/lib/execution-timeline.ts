/**
 * The timeline (Gantt) of an execution, built from its event log: one bar per attempt of each
 * task, with the time it was queued, the time it ran, the time it waited (a durable wait) and
 * how it ended. Built incrementally: `add` takes only the events not seen yet, so following a
 * 5,000-task run costs per event, not per frame.
 */
import type { BridgeEvent } from '@strata/client';

export type AttemptEnd = 'completed' | 'failed' | 'retry' | 'skipped' | 'returned' | null;

export interface AttemptBar {
  taskId: string;
  attempt: number;
  queuedAt: number | null;
  startedAt: number | null;
  /** Durable waits inside this attempt: [from, until or null while waiting]. */
  waits: [number, number | null][];
  endedAt: number | null;
  end: AttemptEnd;
}

export interface TimelineRow {
  taskId: string;
  bars: AttemptBar[];
}

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

export class TimelineBuilder {
  readonly #rows = new Map<string, TimelineRow>();
  #first = Number.POSITIVE_INFINITY;
  #last = 0;
  #seen = 0;
  #list: TimelineRow[] | null = null;

  /**
   * Folds the events after those already seen (the array only grows). A row that changed is
   * replaced by a new object, so a view comparing rows by reference sees exactly what changed.
   */
  add(events: readonly BridgeEvent[]): void {
    const changed = new Set<string>();
    for (let i = this.#seen; i < events.length; i++) {
      const taskId = this.#apply(events[i]!);
      if (taskId) changed.add(taskId);
    }
    this.#seen = events.length;
    for (const taskId of changed) {
      const row = this.#rows.get(taskId)!;
      this.#rows.set(taskId, { taskId, bars: row.bars.map((bar) => ({ ...bar, waits: bar.waits.map((w) => [w[0], w[1]] as [number, number | null]) })) });
    }
    if (changed.size > 0) this.#list = null;
  }

  /** One row per task, in the order they were first queued (events arrive in time order). */
  get rows(): TimelineRow[] {
    this.#list ??= [...this.#rows.values()];
    return this.#list;
  }

  /** The span covered by the events so far (ms since epoch). */
  get span(): { from: number; to: number } | null {
    return Number.isFinite(this.#first) ? { from: this.#first, to: this.#last } : null;
  }

  row(taskId: string): TimelineRow | undefined {
    return this.#rows.get(taskId);
  }

  #current(taskId: string, at: number, open: boolean): AttemptBar {
    let row = this.#rows.get(taskId);
    if (!row) {
      row = { taskId, bars: [] };
      this.#rows.set(taskId, row);
    }
    const last = row.bars.at(-1);
    if (last && (last.end === null || !open)) return last;
    const bar: AttemptBar = { taskId, attempt: row.bars.length + 1, queuedAt: open ? at : null, startedAt: null, waits: [], endedAt: null, end: null };
    row.bars.push(bar);
    return bar;
  }

  /** Applies one event; returns the task whose row it changed, if any. */
  #apply(event: BridgeEvent): string | null {
    const taskId = str(event.data.taskId);
    const at = Date.parse(event.timestamp);
    if (Number.isNaN(at)) return null;
    this.#first = Math.min(this.#first, at);
    this.#last = Math.max(this.#last, at);
    if (!taskId || !event.type.startsWith('task-')) return null;
    // A task a re-run carried over made no attempt here: it has no bar.
    if (event.type === 'task-completed' && event.data.reused === true) return null;
    this.#applyToTask(taskId, at, event);
    return taskId;
  }

  #applyToTask(taskId: string, at: number, event: BridgeEvent): void {
    const data = event.data;
    switch (event.type) {
      case 'task-assigned': {
        this.#current(taskId, at, true);
        return;
      }
      case 'task-progress': {
        const bar = this.#current(taskId, at, false);
        const waitingUntil = str(data.waitingUntil);
        if (waitingUntil) {
          bar.waits.push([at, null]);
          return;
        }
        if (data.status === 'pending') {
          // Put back (paused before it started, or handed back): this attempt ends here.
          this.#close(bar, at, 'returned');
          return;
        }
        if (data.status === 'in_progress' && !('progress' in data)) {
          const wait = bar.waits.at(-1);
          if (wait && wait[1] === null) wait[1] = at;
          else bar.startedAt ??= at;
        }
        return;
      }
      case 'task-completed':
        this.#close(this.#current(taskId, at, false), at, 'completed');
        return;
      case 'task-failed': {
        const end: AttemptEnd = data.willRetry === true ? 'retry' : data.status === 'skipped' ? 'skipped' : 'failed';
        this.#close(this.#current(taskId, at, false), at, end);
        return;
      }
      default:
        return;
    }
  }

  #close(bar: AttemptBar, at: number, end: AttemptEnd): void {
    bar.endedAt = at;
    bar.end = end;
    const wait = bar.waits.at(-1);
    if (wait && wait[1] === null) wait[1] = at;
  }
}
