import type { AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import { type QueueDepth, readQueueDepths } from '../queue-depth.ts';
import type { Executor } from '../tx.ts';

export interface AgentQueue extends QueueDepth {
  /** This workspace's tasks queued for a worker (assigned, no limit holding them). */
  workspaceQueued: number;
  /** This workspace's tasks waiting for a workspace, key or execution limit (throttled). */
  workspaceThrottled: number;
  /** This workspace's tasks an agent is running. */
  workspaceRunning: number;
  /** This workspace's tasks in progress but waiting (an approval, a signal, a child execution). */
  workspaceWaiting: number;
}

export interface QueueAnalytics {
  workspaceId: string;
  asOf: string;
  /**
   * Every agent type. `ready`, `delayed`, `active` and `oldestReadyAgeSeconds` are the server's
   * agent queues (shared by every workspace); the `workspace…` counts are this workspace's tasks.
   */
  queues: AgentQueue[];
}

type Row = { agentType: AgentType; queued: number; throttled: number; running: number; waiting: number };

/** Queue depth now: the agent queues (readQueueDepths) and this workspace's unfinished tasks in them. */
export async function queueAnalytics(db: Executor, workspaceId: string, now: Date = new Date()): Promise<QueueAnalytics> {
  const [depths, rows] = await Promise.all([
    readQueueDepths(db),
    // Through the active executions (executions_active_idx), then their tasks by status. A failed or
    // cancelled execution's last in-progress tasks, finishing, are left out: they start nothing more.
    db.execute<Row>(sql`
      select t.agent_type as "agentType",
        count(*) filter (where t.status = 'assigned' and t.throttle_scope is null)::int as queued,
        count(*) filter (where t.status = 'assigned' and t.throttle_scope is not null)::int as throttled,
        count(*) filter (where t.status = 'in_progress' and t.wake_at is null)::int as running,
        count(*) filter (where t.status = 'in_progress' and t.wake_at is not null)::int as waiting
      from executions e join tasks t on t.execution_id = e.id
      where e.workspace_id = ${workspaceId} and e.status in ('pending', 'running', 'paused')
        and t.status in ('assigned', 'in_progress')
      group by t.agent_type`),
  ]);
  const mine = new Map(rows.map((row) => [row.agentType, row]));
  return {
    workspaceId,
    asOf: now.toISOString(),
    queues: depths.map((depth) => {
      const row = mine.get(depth.agentType);
      return { ...depth, workspaceQueued: row?.queued ?? 0, workspaceThrottled: row?.throttled ?? 0, workspaceRunning: row?.running ?? 0, workspaceWaiting: row?.waiting ?? 0 };
    }),
  };
}
