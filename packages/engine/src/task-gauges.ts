import { AGENT_TYPES, type AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { Executor } from './tx.ts';

export interface TaskGauges {
  /** Tasks running an agent now, per agent type (a task in a durable wait is not in progress). */
  inProgress: Record<AgentType, number>;
  /** Tasks held back by a limit (throttle/), per agent type. */
  throttled: Record<AgentType, number>;
  /** Approvals waiting for a person's answer (as listPendingApprovals counts them). */
  approvalsWaiting: number;
}

/**
 * The task states the metrics endpoint reports, read at scrape time in one statement; each part
 * is answered from a partial index (in-progress tasks, throttled tasks, pending approvals), so the
 * cost follows the live work, not the history.
 */
export async function readTaskGauges(db: Executor): Promise<TaskGauges> {
  const rows = await db.execute<{ kind: 'in_progress' | 'throttled' | 'approvals'; agentType: AgentType | null; n: number }>(sql`
    select 'in_progress' as kind, agent_type as "agentType", count(*)::int as n from tasks
      where status = 'in_progress' and wake_at is null group by agent_type
    union all
    select 'throttled', agent_type, count(*)::int from tasks where throttle_scope is not null group by agent_type
    union all
    select 'approvals', null, count(*)::int from approvals a
      join tasks t on t.id = a.task_id join executions e on e.id = a.execution_id
      where a.status = 'pending' and (a.timeout_at is null or a.timeout_at > now()) and t.status = 'in_progress' and e.status in ('running', 'paused')`);
  const zero = () => Object.fromEntries(AGENT_TYPES.map((type) => [type, 0])) as Record<AgentType, number>;
  const gauges: TaskGauges = { inProgress: zero(), throttled: zero(), approvalsWaiting: 0 };
  for (const row of rows) {
    if (row.kind === 'approvals') gauges.approvalsWaiting = row.n;
    else if (row.agentType) (row.kind === 'in_progress' ? gauges.inProgress : gauges.throttled)[row.agentType] = row.n;
  }
  return gauges;
}
