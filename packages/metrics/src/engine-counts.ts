import { type EngineObserver, observeEngine } from '@strata/engine';
import type { StrataMetrics } from './registry.ts';

type Event = Parameters<EngineObserver['eventsCommitted']>[0][number];

const FINAL_STATUS: Record<string, string> = { 'execution-completed': 'completed', 'execution-cancelled': 'cancelled', error: 'failed' };
const TASK_OUTCOMES = new Set(['completed', 'failed', 'skipped']);

/** Counts one committed event: the log has exactly one event per change, so the counters follow the database. */
function count(metrics: StrataMetrics, event: Event): void {
  const data = event.data;
  const agentType = typeof data.agentType === 'string' ? data.agentType : 'unknown';
  switch (event.type) {
    case 'execution-started':
      metrics.executionsStarted.inc();
      return;
    case 'execution-completed':
    case 'execution-cancelled':
    case 'error':
      metrics.executionsFinished.inc({ status: FINAL_STATUS[event.type]! });
      return;
    case 'task-completed':
      metrics.tasksFinished.inc({ agent_type: agentType, outcome: 'completed' });
      if (typeof data.durationMs === 'number') metrics.taskDuration.observe({ agent_type: agentType }, data.durationMs / 1000);
      return;
    case 'task-failed':
      // A failed attempt with retries left goes back to pending (`willRetry`); otherwise the task ends failed or skipped.
      if (data.willRetry === true) metrics.taskRetries.inc({ agent_type: agentType });
      else if (typeof data.status === 'string' && TASK_OUTCOMES.has(data.status)) metrics.tasksFinished.inc({ agent_type: agentType, outcome: data.status });
      return;
    default:
  }
}

const COUNTING = Symbol.for('strata.metrics.countingEngine');

/**
 * Counts what this process's engine calls commit (an execution started by this web process, a
 * task finished by this worker, a cancel that settles an execution here). Each process counts
 * its own; summed over every process they equal the database. Once per process: a second call
 * (two workers in one process, as tests run them) adds nothing, so nothing is counted twice.
 */
export function countEngineEvents(metrics: StrataMetrics): void {
  const flagged = metrics as StrataMetrics & { [COUNTING]?: true };
  if (flagged[COUNTING]) return;
  flagged[COUNTING] = true;
  observeEngine({
    eventsCommitted(events) {
      for (const event of events) count(metrics, event);
    },
  });
}
