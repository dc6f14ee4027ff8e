import type { strategyItems } from '@strata/db';
import { sql } from 'drizzle-orm';
import type { NewEvent } from './events.ts';
import { CARRIED_OVER_EVENT_RESULTS_MAX_BYTES, EVENT_RESULT_MAX_BYTES } from './limits.ts';
import { jsonRows, type Tx } from './tx.ts';

export type StrategyItemRow = typeof strategyItems.$inferSelect;

/** The columns a task takes from its L4 item, as a row for jsonb_to_recordset (every start's insert). */
export const taskRowOf = (item: StrategyItemRow, taskIdByKey: ReadonlyMap<string, string>) => ({
  id: taskIdByKey.get(item.key!)!,
  l4_item_id: item.id,
  key: item.key!,
  agent_type: item.agentType!,
  priority: item.priority!,
  description: item.title,
  ordinal: item.position,
  dependencies: item.dependsOn.map((key) => taskIdByKey.get(key)!),
  input: item.input ?? {},
  max_retries: item.maxRetries!,
  timeout_seconds: item.timeoutSeconds!,
});

/**
 * Which completed tasks of an earlier execution a new one takes over, read inside the start's
 * transaction: per L4 item id, the earlier task's id (see retry.ts).
 */
export type CarryOver = (tx: Tx) => Promise<ReadonlyMap<string, string>>;

/**
 * What a start creates. `reused`: the items carried over from an earlier execution (each with
 * the task it copies), dependencies first; a task is carried over only with all of its
 * dependencies. `roots`: the items that run and are ready at once (every dependency carried
 * over, or none at all). `pending`: per item key, how many of its dependencies are still to run.
 */
export type TaskPlan = {
  reused: { item: StrategyItemRow; originalTaskId: string }[];
  roots: StrategyItemRow[];
  pending: ReadonlyMap<string, number>;
};

export function planTasks(items: readonly StrategyItemRow[], completedByItem: ReadonlyMap<string, string>): TaskPlan {
  const byKey = new Map(items.map((item) => [item.key!, item]));
  const carried = new Map<string, boolean>();
  const reused: TaskPlan['reused'] = [];
  // Depth first over the dependencies, with a stack of its own (a chain of 10,000 items would
  // overflow the call stack), so each item is decided after all it depends on and `reused`
  // lists dependencies first. The graph is acyclic (validateItems).
  for (const start of items) {
    if (carried.has(start.key!)) continue;
    const stack = [{ item: start, next: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const dependency = frame.item.dependsOn[frame.next];
      if (dependency !== undefined) {
        frame.next++;
        if (!carried.has(dependency)) stack.push({ item: byKey.get(dependency)!, next: 0 });
        continue;
      }
      stack.pop();
      const { item } = frame;
      const originalTaskId = completedByItem.get(item.id);
      const isCarried = originalTaskId !== undefined && item.dependsOn.every((key) => carried.get(key) === true);
      carried.set(item.key!, isCarried);
      if (isCarried) reused.push({ item, originalTaskId: originalTaskId! });
    }
  }
  const pending = new Map(items.map((item) => [item.key!, item.dependsOn.filter((key) => !carried.get(key)).length]));
  const roots = items.filter((item) => !carried.get(item.key!) && pending.get(item.key!) === 0);
  return { reused, roots, pending };
}

/**
 * Inserts the tasks carried over: completed, `reused`, the earlier task's result copied by the
 * statement itself (only the small ones, for their events, come back to this process), no attempt
 * and no agent run.
 * Returns their `task-completed` events, one each, in `reused` order (dependencies first), each
 * marked `reused` and naming the task it copies; the result rides on it when small, as on any
 * completion, while the results on these events stay within CARRIED_OVER_EVENT_RESULTS_MAX_BYTES
 * together (the others are marked `resultOmitted`).
 */
export async function insertCarriedOver(
  tx: Tx,
  executionId: string,
  workspaceId: string,
  reused: TaskPlan['reused'],
  taskIdByKey: ReadonlyMap<string, string>,
): Promise<NewEvent[]> {
  if (reused.length === 0) return [];
  const rows = reused.map(({ item, originalTaskId }, n) => ({ ...taskRowOf(item, taskIdByKey), original_id: originalTaskId, n }));
  const inserted = await tx.execute<{ id: string; agentType: string; result: unknown; resultOmitted: boolean }>(sql`
    with inserted as (
      insert into tasks (id, execution_id, workspace_id, l4_item_id, key, agent_type, priority, description, ordinal, dependencies,
        pending_dependencies, input, max_retries, timeout_seconds, status, attempt, result, completed_at, reused)
      select t.id, ${executionId}, ${workspaceId}, t.l4_item_id, t.key, t.agent_type, t.priority, t.description, t.ordinal,
        array(select jsonb_array_elements_text(t.dependencies)), 0, t.input, t.max_retries, t.timeout_seconds,
        'completed', 0, o.result, now(), true
      from jsonb_to_recordset(${jsonRows(rows)}) as t(id text, original_id text, l4_item_id text, key text, agent_type text,
        priority text, description text, ordinal int, dependencies jsonb, input jsonb, max_retries int, timeout_seconds int, n int)
      join tasks o on o.id = t.original_id and o.status = 'completed'
      returning id, agent_type, result, coalesce(octet_length(result::text), 4) as bytes),
    -- The results that ride on the events: each small enough, and all of them together within the budget, in event order.
    sized as (
      select i.*, i.bytes <= ${EVENT_RESULT_MAX_BYTES} as small,
        sum(case when i.bytes <= ${EVENT_RESULT_MAX_BYTES} then i.bytes else 0 end) over (order by t.n rows unbounded preceding) as total
      from inserted i join jsonb_to_recordset(${jsonRows(rows.map(({ id, n }) => ({ id, n })))}) as t(id text, n int) on t.id = i.id)
    select id, agent_type as "agentType", case when small and total <= ${CARRIED_OVER_EVENT_RESULTS_MAX_BYTES} then result end as result,
      not (small and total <= ${CARRIED_OVER_EVENT_RESULTS_MAX_BYTES}) as "resultOmitted"
    from sized`);
  // The earlier execution is settled, so its completed tasks stay as they were read; should one
  // be gone (its workspace deleted meanwhile), nothing of this start may commit.
  if (inserted.length !== rows.length) throw new Error(`Carried over ${inserted.length} of ${rows.length} tasks: the execution re-run changed while it was read`);
  const byId = new Map(inserted.map((row) => [row.id, row]));
  return rows.map((row) => {
    const task = byId.get(row.id)!;
    const result = task.resultOmitted ? { resultOmitted: true } : { result: task.result ?? null };
    return {
      executionId,
      type: 'task-completed' as const,
      data: { taskId: row.id, agentType: task.agentType, status: 'completed', reused: true, originalTaskId: row.original_id, ...result },
    };
  });
}
