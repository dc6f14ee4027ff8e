import { AGENT_TYPES } from '@strata/db';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: a task runs from milliseconds (a template) to minutes (research, an LLM call). */
const TASK_DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Seconds: API calls answer in milliseconds; a stream's request lasts as long as its connection. */
const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

export const STREAM_TRANSPORTS = ['sse', 'websocket', 'trpc'] as const;
export type StreamTransport = (typeof STREAM_TRANSPORTS)[number];

/** Something read at scrape time (the database's state gauges) before the text is written. */
export type Refresher = () => Promise<void>;

/** Every Strata metric of one process, in one prom-client registry. */
export function createMetrics() {
  const registry = new Registry();
  // Process CPU, memory, handles, GC, and the event loop's lag (strata_nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry, prefix: 'strata_' });
  const registers = [registry];
  const metrics = {
    registry,
    executionsStarted: new Counter({ name: 'strata_executions_started_total', help: 'Executions started (by a person, the API, a schedule, a re-run or a parent task).', registers }),
    executionsFinished: new Counter({
      name: 'strata_executions_finished_total',
      help: 'Executions that reached a final status, by that status.',
      labelNames: ['status'] as const,
      registers,
    }),
    tasksFinished: new Counter({
      name: 'strata_tasks_finished_total',
      help: 'Tasks that reached a final status (completed, failed, skipped), by agent type and that outcome.',
      labelNames: ['agent_type', 'outcome'] as const,
      registers,
    }),
    taskRetries: new Counter({ name: 'strata_task_retries_total', help: 'Failed attempts that were retried, by agent type.', labelNames: ['agent_type'] as const, registers }),
    taskDuration: new Histogram({
      name: 'strata_task_duration_seconds',
      help: 'Run time of the attempt that completed a task, by agent type (tasks carried over by a re-run did not run and are not observed).',
      labelNames: ['agent_type'] as const,
      buckets: TASK_DURATION_BUCKETS,
      registers,
    }),
    queueJobs: new Gauge({
      name: 'strata_queue_jobs',
      help: 'Jobs in each agent queue: ready (due now), delayed (a retry backoff or a wait), active (held by a worker). Read from the database at scrape.',
      labelNames: ['agent_type', 'state'] as const,
      registers,
    }),
    queueOldestAge: new Gauge({
      name: 'strata_queue_oldest_ready_job_age_seconds',
      help: 'Age of the oldest ready job of each agent queue (0 when none waits). Read from the database at scrape.',
      labelNames: ['agent_type'] as const,
      registers,
    }),
    tasksInProgress: new Gauge({
      name: 'strata_tasks_in_progress',
      help: 'Tasks running an agent now (not counting durable waits), by agent type. Read from the database at scrape.',
      labelNames: ['agent_type'] as const,
      registers,
    }),
    tasksThrottled: new Gauge({
      name: 'strata_tasks_throttled',
      help: 'Tasks held back by a concurrency or rate limit, by agent type. Read from the database at scrape.',
      labelNames: ['agent_type'] as const,
      registers,
    }),
    approvalsWaiting: new Gauge({ name: 'strata_approvals_waiting', help: 'Approvals waiting for an answer. Read from the database at scrape.', registers }),
    streamSubscribers: new Gauge({
      name: 'strata_stream_subscribers',
      help: 'Open execution streams in this process, by transport.',
      labelNames: ['transport'] as const,
      registers,
    }),
    httpRequests: new Counter({
      name: 'strata_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'strata_http_request_duration_seconds',
      help: 'Time from a request to the end of its response, by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: 'strata_rate_limit_refusals_total',
      help: 'Requests refused by a workspace rate limit (429), by bucket.',
      labelNames: ['bucket'] as const,
      registers,
    }),
    /** Readers run before every scrape (see addRefresher). */
    refreshers: new Set<Refresher>(),
  };
  // Every series with a known label set starts at 0, so a rate() sees the first event.
  for (const transport of STREAM_TRANSPORTS) metrics.streamSubscribers.set({ transport }, 0);
  for (const agentType of AGENT_TYPES) {
    metrics.taskRetries.inc({ agent_type: agentType }, 0);
    for (const outcome of ['completed', 'failed', 'skipped']) metrics.tasksFinished.inc({ agent_type: agentType, outcome }, 0);
  }
  for (const status of ['completed', 'failed', 'cancelled']) metrics.executionsFinished.inc({ status }, 0);
  return metrics;
}

export type StrataMetrics = ReturnType<typeof createMetrics>;

/** Kept on globalThis: every copy of this module in a process (the SvelteKit bundle and the Node server around it) counts into one registry. */
const METRICS_KEY = Symbol.for('strata.metrics');

/** The process's metrics, created on first use. */
export function processMetrics(): StrataMetrics {
  const holder = globalThis as unknown as Record<symbol, StrataMetrics | undefined>;
  holder[METRICS_KEY] ??= createMetrics();
  return holder[METRICS_KEY];
}

/** Runs `refresh` before every scrape of these metrics; returns the function that removes it. */
export function addRefresher(metrics: StrataMetrics, refresh: Refresher): () => void {
  metrics.refreshers.add(refresh);
  return () => {
    metrics.refreshers.delete(refresh);
  };
}
