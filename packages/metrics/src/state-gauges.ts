import { AGENT_TYPES } from '@strata/db';
import { readQueueDepths, readTaskGauges } from '@strata/engine';
import { addRefresher, type StrataMetrics } from './registry.ts';

type Db = Parameters<typeof readQueueDepths>[0];

/**
 * The state gauges (queue depth and oldest job age per agent queue, tasks in progress, throttled
 * tasks, approvals waiting), read from the database at each scrape: the database is the one
 * place that knows them across processes, so every process reports the same values.
 */
export function addStateGauges(metrics: StrataMetrics, db: Db): () => void {
  return addRefresher(metrics, async () => {
    const [depths, tasks] = await Promise.all([readQueueDepths(db), readTaskGauges(db)]);
    for (const depth of depths) {
      const agent_type = depth.agentType;
      metrics.queueJobs.set({ agent_type, state: 'ready' }, depth.ready);
      metrics.queueJobs.set({ agent_type, state: 'delayed' }, depth.delayed);
      metrics.queueJobs.set({ agent_type, state: 'active' }, depth.active);
      metrics.queueOldestAge.set({ agent_type }, depth.oldestReadyAgeSeconds);
    }
    for (const agent_type of AGENT_TYPES) {
      metrics.tasksInProgress.set({ agent_type }, tasks.inProgress[agent_type]);
      metrics.tasksThrottled.set({ agent_type }, tasks.throttled[agent_type]);
    }
    metrics.approvalsWaiting.set(tasks.approvalsWaiting);
  });
}
