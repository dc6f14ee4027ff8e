/**
 * Queues webhook deliveries in the transaction of the state change that causes them: the
 * delivery rows and their jobs commit or roll back with the change, so an alert is never sent
 * for a change that did not happen, nor lost for one that did. Each call is one statement when
 * no webhook of the workspace wants the event.
 */
import type { WebhookEventType } from '@strata/db';
import { type SQL, sql } from 'drizzle-orm';
import type { Health } from '../health.ts';
import type { TaskQueue } from '../queue.ts';
import type { Tx } from '../tx.ts';

const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

/** The execution as a delivery's `data.execution` shows it (e: executions). */
const executionJson = sql`jsonb_build_object(
  'id', e.id, 'workspaceId', e.workspace_id, 'strategyId', e.strategy_id,
  'strategyName', (select s.name from strategies s where s.id = e.strategy_id),
  'status', e.status, 'error', e.error, 'totalTasks', e.total_tasks, 'completedTasks', e.completed_tasks,
  'failedTasks', e.failed_tasks, 'skippedTasks', e.skipped_tasks,
  'startedAt', ${iso('e.started_at')}, 'completedAt', ${iso('e.completed_at')})`;

/** A fresh delivery id (`whd_` and 32 hex digits), made in the statement that inserts it. */
const deliveryId = sql`'whd_' || replace(gen_random_uuid()::text, '-', '')`;

/**
 * Inserts the deliveries `select` yields (webhook_id, type, execution_id, payload) and queues
 * their first attempts; `ctes` (`with …`) may precede it (a data-modifying one must be at the top).
 */
async function queueDeliveries(tx: Tx, queue: TaskQueue, select: SQL, ctes: SQL = sql``): Promise<string[]> {
  const rows = await tx.execute<{ id: string }>(sql`
    ${ctes}
    insert into webhook_deliveries (id, webhook_id, type, execution_id, payload)
    select ${deliveryId}, d.webhook_id, d.type, d.execution_id, d.payload from (${select}) d
    returning id`);
  if (rows.length > 0) await queue.enqueueWebhookDeliveries(tx, rows.map((r) => ({ deliveryId: r.id, attempt: 1 })));
  return rows.map((r) => r.id);
}

/** Only webhooks of the execution's workspace that subscribed to `type`. */
const subscribed = (type: WebhookEventType) => sql`w.workspace_id = e.workspace_id and ${type} = any(w.events)`;

const FINAL_TYPES = { completed: 'execution.completed', failed: 'execution.failed', cancelled: 'execution.cancelled' } as const;

/** The execution has just ended (its final status written): `execution.completed|failed|cancelled`. */
export function queueExecutionEnded(tx: Tx, queue: TaskQueue, executionId: string, status: keyof typeof FINAL_TYPES, health: Health): Promise<string[]> {
  const type = FINAL_TYPES[status];
  return queueDeliveries(
    tx,
    queue,
    sql`select w.id as webhook_id, ${type}::text as type, e.id as execution_id,
          jsonb_build_object('execution', ${executionJson}, 'health', ${JSON.stringify({ score: health.score, issues: health.issues })}::jsonb) as payload
        from executions e join webhooks w on ${subscribed(type)} where e.id = ${executionId}`,
  );
}

/**
 * A health score was just computed: `execution.health_below` for each subscribed webhook whose
 * threshold it is under, the first time only. The marker row (primary key webhook × execution)
 * makes it once, whichever transaction or worker gets there first.
 */
export async function queueHealthBelow(tx: Tx, queue: TaskQueue, executionId: string, workspaceId: string, health: Health): Promise<string[]> {
  // A perfect score is under no threshold (0–100): nothing to ask the database.
  if (health.score >= 100) return [];
  const type: WebhookEventType = 'execution.health_below';
  return queueDeliveries(
    tx,
    queue,
    sql`select w.id as webhook_id, ${type}::text as type, e.id as execution_id,
          jsonb_build_object('execution', ${executionJson}, 'health', ${JSON.stringify(health)}::jsonb, 'threshold', w.health_threshold) as payload
        from due join webhooks w on w.id = due.webhook_id join executions e on e.id = ${executionId}`,
    sql`with due as (
          insert into webhook_health_alerts (webhook_id, execution_id)
          select w.id, ${executionId} from webhooks w
          where w.workspace_id = ${workspaceId} and ${type} = any(w.events) and ${health.score} < w.health_threshold
          on conflict do nothing
          returning webhook_id)`,
  );
}

export interface RequestedApproval {
  executionId: string;
  taskId: string;
  prompt: string;
  timeoutAt: string | null;
  onTimeout: string;
}

/** A task has just asked for an approval (its approvals row was created): `approval.requested`. */
export function queueApprovalRequested(tx: Tx, queue: TaskQueue, approval: RequestedApproval): Promise<string[]> {
  const type: WebhookEventType = 'approval.requested';
  return queueDeliveries(
    tx,
    queue,
    sql`select w.id as webhook_id, ${type}::text as type, e.id as execution_id,
          jsonb_build_object('execution', ${executionJson},
            'approval', jsonb_build_object('taskId', t.id, 'taskKey', t.key, 'taskDescription', t.description,
              'prompt', ${approval.prompt}::text, 'timeoutAt', ${approval.timeoutAt}::text, 'onTimeout', ${approval.onTimeout}::text)) as payload
        from executions e join tasks t on t.id = ${approval.taskId} join webhooks w on ${subscribed(type)} where e.id = ${approval.executionId}`,
  );
}

/** A test delivery to one webhook (`webhook.test`), queued at once. */
export async function queueTestDelivery(tx: Tx, queue: TaskQueue, webhookId: string): Promise<string> {
  const [id] = await queueDeliveries(
    tx,
    queue,
    sql`select w.id as webhook_id, 'webhook.test'::text as type, null::text as execution_id,
          jsonb_build_object('webhook', jsonb_build_object('id', w.id, 'url', w.url, 'events', to_jsonb(w.events)),
            'message', 'A test delivery from Strata: your endpoint received and can verify it.') as payload
        from webhooks w where w.id = ${webhookId}`,
  );
  if (!id) throw new Error(`webhook ${webhookId} vanished while a test delivery was queued`);
  return id;
}
