import { AGENT_TYPES } from '@strata/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { EngineContext } from '../context.ts';
import { agentQueue } from '../queue.ts';
import { FAIR_QUEUE_LOCK_CLASS, jsonRows, postgresErrorOf, textArray, transaction, type Tx } from '../tx.ts';
import { conflict } from '../errors.ts';
import { fromZodError } from '../zod-error.ts';
import { limitWindowMs } from './admit.ts';
import { lockScopes, rouseSleepers, typeScope } from './scopes.ts';
import { concurrencyValue, perMinuteValue } from './values.ts';

const agentLimitSchema = z.strictObject({
  /** At most this many tasks of the type in progress at once in the workspace. */
  concurrency: concurrencyValue.nullish(),
  /** At most this many starts of the type in any rolling minute in the workspace. */
  perMinute: perMinuteValue.nullish(),
});

/** `PUT /api/workspaces/:id/limits`: the whole set (a type left out is unlimited). */
export const workspaceLimitsSchema = z.strictObject({
  agents: z.record(z.string(), agentLimitSchema).superRefine((agents, ctx) => {
    for (const type of Object.keys(agents)) {
      if (!(AGENT_TYPES as readonly string[]).includes(type)) {
        ctx.addIssue({ code: 'custom', path: [type], message: `unknown agent type "${type}" (known: ${AGENT_TYPES.join(', ')})` });
      }
    }
  }),
});

export type AgentLimit = { concurrency: number | null; perMinute: number | null };
export type WorkspaceLimits = { workspaceId: string; agents: Record<string, AgentLimit>; windowSeconds: number };

/** A workspace's limits: only the agent types that have one. */
export async function getWorkspaceLimits(ctx: Pick<EngineContext, 'db' | 'limitWindowMs'>, workspaceId: string): Promise<WorkspaceLimits> {
  const rows = await ctx.db.execute<{ agentType: string; concurrency: number | null; perMinute: number | null }>(sql`
    select agent_type as "agentType", concurrency, per_minute as "perMinute" from workspace_limits where workspace_id = ${workspaceId} order by agent_type`);
  return { workspaceId, agents: Object.fromEntries(rows.map((r) => [r.agentType, { concurrency: r.concurrency, perMinute: r.perMinute }])), windowSeconds: limitWindowMs(ctx) / 1000 };
}

const LOCK_TIMEOUT_MS = 2000;
const LOCK_ATTEMPTS = 3;
const LOCK_NOT_AVAILABLE = '55P03';
/** Sleepers woken when a limit is lifted: in effect all of them. */
const WAKE_ALL = 1_000_000;

/**
 * Replaces a workspace's limits. The agent queues whose limits change are locked exclusively
 * for the moment of the change (every engine transaction holds them shared, fair-queue.ts): a
 * claim that read the old limits has committed before, and one that reads the new ones starts
 * after. Tasks of a newly limited type already running (or started within the window) are
 * entered in the ledger, so they count; sleepers of a type whose limit rose or went are woken
 * to check again.
 */
export async function setWorkspaceLimits(ctx: Pick<EngineContext, 'db' | 'limitWindowMs'>, workspaceId: string, raw: unknown): Promise<WorkspaceLimits> {
  const parsed = workspaceLimitsSchema.safeParse(raw);
  if (!parsed.success) throw fromZodError(parsed.error);
  const wanted = new Map<string, AgentLimit>();
  for (const [type, limit] of Object.entries(parsed.data.agents)) {
    const value = { concurrency: limit.concurrency ?? null, perMinute: limit.perMinute ?? null };
    if (value.concurrency !== null || value.perMinute !== null) wanted.set(type, value);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await transaction(ctx.db, (tx) => replaceLimits(tx, workspaceId, wanted, limitWindowMs(ctx)));
      return getWorkspaceLimits(ctx, workspaceId);
    } catch (error) {
      if (postgresErrorOf(error)?.code !== LOCK_NOT_AVAILABLE) throw error;
      if (attempt >= LOCK_ATTEMPTS) throw conflict('The engine is busy with these agent queues; try again');
    }
  }
}

async function replaceLimits(tx: Tx, workspaceId: string, wanted: ReadonlyMap<string, AgentLimit>, windowMs: number): Promise<void> {
  const current = new Map(
    (
      await tx.execute<{ agentType: string; concurrency: number | null; perMinute: number | null }>(sql`
        select agent_type as "agentType", concurrency, per_minute as "perMinute" from workspace_limits where workspace_id = ${workspaceId} for update`)
    ).map((r) => [r.agentType, { concurrency: r.concurrency, perMinute: r.perMinute }]),
  );
  const same = (a: AgentLimit | undefined, b: AgentLimit | undefined) => a?.concurrency === b?.concurrency && a?.perMinute === b?.perMinute;
  const changed = [...new Set([...current.keys(), ...wanted.keys()])].filter((type) => !same(current.get(type), wanted.get(type))).sort();
  if (changed.length === 0) return;
  await tx.execute(sql`select set_config('lock_timeout', ${`${LOCK_TIMEOUT_MS}ms`}, true)`);
  await tx.execute(sql`
    select count(pg_advisory_xact_lock(${FAIR_QUEUE_LOCK_CLASS}, k)) from (select hashtext(q) as k from unnest(${textArray(changed.map(agentQueue))}) as q order by k) x`);
  await tx.execute(sql`select set_config('lock_timeout', '0', true)`);
  await lockScopes(
    tx,
    changed.map((type) => typeScope(workspaceId, type)),
    'wake',
  );
  await tx.execute(sql`delete from workspace_limits where workspace_id = ${workspaceId} and agent_type = any(${textArray(changed)})`);
  const rows = changed.filter((type) => wanted.has(type)).map((type) => ({ agent_type: type, concurrency: wanted.get(type)!.concurrency, per_minute: wanted.get(type)!.perMinute }));
  if (rows.length > 0) {
    await tx.execute(sql`
      insert into workspace_limits (workspace_id, agent_type, concurrency, per_minute)
      select ${workspaceId}, r.agent_type, r.concurrency, r.per_minute from jsonb_to_recordset(${jsonRows(rows)}) as r(agent_type text, concurrency int, per_minute int)`);
    const limitedTypes = rows.map((r) => r.agent_type);
    // What runs now, and what started within the window, counts against the new limits.
    await tx.execute(sql`
      insert into limit_starts (scope, task_id, started_at)
      select 'type:' || t.workspace_id || ':' || t.agent_type, t.id, t.started_at
      from executions e join tasks t on t.execution_id = e.id
      where e.workspace_id = ${workspaceId} and e.status in ('running', 'paused') and t.agent_type = any(${textArray(limitedTypes)})
        and t.started_at is not null
        and ((t.status = 'in_progress' and t.wake_at is null) or t.started_at > clock_timestamp() - ${windowMs} * interval '1 millisecond')
        and not exists (select 1 from limit_starts l where l.scope = 'type:' || t.workspace_id || ':' || t.agent_type and l.task_id = t.id)`);
  }
  // Sleepers of a type whose limit rose or went check again (as many as the new limit may admit).
  await rouseSleepers(
    tx,
    changed.map((type) => {
      const limit = wanted.get(type);
      const n = Math.min(limit?.concurrency ?? WAKE_ALL, limit?.perMinute ?? WAKE_ALL);
      return { scope: typeScope(workspaceId, type), n };
    }),
  );
}
