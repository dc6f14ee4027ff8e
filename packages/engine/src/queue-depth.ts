import { AGENT_TYPES, type AgentType } from '@strata/db';
import { sql } from 'drizzle-orm';
import { agentQueue } from './queue.ts';
import type { Executor } from './tx.ts';

export interface QueueDepth {
  agentType: AgentType;
  /** Jobs waiting in the agent's queue and due now (`created` or `retry`, start time reached). */
  ready: number;
  /** Jobs waiting for a later start (a retry's backoff). */
  delayed: number;
  /** Jobs a worker holds. */
  active: number;
  /** Seconds since the oldest ready job was queued; 0 when none waits. */
  oldestReadyAgeSeconds: number;
}

/**
 * How deep each agent queue is right now, read from pg-boss's job table in one statement so
 * every agent type is answered from the same instant. The metrics endpoint and the analytics
 * page both read this; pg-boss's own cached queue counts lag by a maintenance interval.
 */
export async function readQueueDepths(db: Executor): Promise<QueueDepth[]> {
  const names = AGENT_TYPES.map((type) => agentQueue(type));
  const rows = await db.execute<{ name: string; ready: number; delayed: number; active: number; oldest: number | null }>(sql`
    select name,
      count(*) filter (where state in ('created', 'retry') and start_after <= now())::int as ready,
      count(*) filter (where state in ('created', 'retry') and start_after > now())::int as delayed,
      count(*) filter (where state = 'active')::int as active,
      extract(epoch from now() - min(created_on) filter (where state in ('created', 'retry') and start_after <= now()))::float8 as oldest
    from pgboss.job
    where name in (${sql.join(names.map((name) => sql`${name}`), sql`, `)})
      and state in ('created', 'retry', 'active')
    group by name`);
  const byName = new Map(rows.map((row) => [row.name, row]));
  return AGENT_TYPES.map((agentType) => {
    const row = byName.get(agentQueue(agentType));
    return {
      agentType,
      ready: row?.ready ?? 0,
      delayed: row?.delayed ?? 0,
      active: row?.active ?? 0,
      oldestReadyAgeSeconds: Math.max(0, row?.oldest ?? 0),
    };
  });
}
