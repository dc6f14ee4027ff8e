import type { Logger } from '@strata/config';
import { sql } from 'drizzle-orm';
import type { PgBoss } from 'pg-boss';
import type { EngineContext } from '../context.ts';
import { hookPoint } from '../hooks.ts';
import { transaction } from '../tx.ts';
import { ensureWebhookQueue, WEBHOOK_QUEUE, type WebhookJob, webhookJobSchema } from './queue.ts';
import { DEFAULT_WEBHOOK_RETRY, nextAttemptAt, type WebhookRetryPolicy } from './schedule.ts';
import { sendWebhook } from './send.ts';

export interface WebhookDeliverySettings {
  /** Hosts deliveries may reach although private (WEBHOOK_ALLOW_HOSTS, as `allowListSet` gives it). */
  allowHosts: ReadonlySet<string>;
  /** One attempt's deadline (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  retry?: WebhookRetryPolicy;
}

type Pending = {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: number;
  createdAtIso: string;
  url: string;
  secret: string;
  workspaceId: string;
};

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'skipped';

/**
 * Makes one attempt of a delivery, if it is still the delivery's next one (a repeated or stale
 * job is dropped: `skipped`), and records it: a 2xx answer succeeds it; anything else fails the
 * attempt, and the next is queued by the retry schedule in the same transaction, or the delivery
 * fails when the schedule is over or the address is refused.
 */
export async function attemptDelivery(ctx: Pick<EngineContext, 'db' | 'queue'>, job: WebhookJob, settings: WebhookDeliverySettings): Promise<AttemptOutcome> {
  await hookPoint('webhooks:before-attempt', { deliveryId: job.deliveryId, attempt: job.attempt });
  const [delivery] = await ctx.db.execute<Pending>(sql`
    select d.id, d.type, d.payload, d.attempts,
      to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAtIso",
      w.url, w.secret, w.workspace_id as "workspaceId"
    from webhook_deliveries d join webhooks w on w.id = d.webhook_id
    where d.id = ${job.deliveryId} and d.status = 'pending'`);
  if (!delivery || delivery.attempts !== job.attempt - 1) return 'skipped';
  // The body, in a fixed key order, is the same on every attempt; only the signature's time changes.
  const body = JSON.stringify({ id: delivery.id, type: delivery.type, createdAt: delivery.createdAtIso, workspaceId: delivery.workspaceId, data: delivery.payload });
  const result = await sendWebhook(delivery.url, body, { secret: delivery.secret, allowHosts: settings.allowHosts, timeoutMs: settings.timeoutMs, deliveryId: delivery.id });
  const now = new Date();
  const next = result.ok || !result.retry ? undefined : nextAttemptAt(settings.retry ?? DEFAULT_WEBHOOK_RETRY, job.attempt, new Date(delivery.createdAtIso), now);
  const status = result.ok ? 'succeeded' : next ? 'pending' : 'failed';
  return transaction(ctx.db, async (tx) => {
    const updated = await tx.execute(sql`
      update webhook_deliveries set status = ${status}, attempts = ${job.attempt}, last_status_code = ${result.statusCode},
        last_error = ${result.ok ? null : result.error}, last_attempt_at = ${now.toISOString()}::timestamptz,
        next_attempt_at = ${next ? next.toISOString() : null}::timestamptz, completed_at = ${status === 'pending' ? null : now.toISOString()}::timestamptz
      where id = ${delivery.id} and status = 'pending' and attempts = ${job.attempt - 1}
      returning id`);
    if (updated.length === 0) return 'skipped';
    if (next) await ctx.queue.enqueueWebhookDeliveries(tx, [{ deliveryId: delivery.id, attempt: job.attempt + 1, startAfter: next }]);
    return status === 'pending' ? 'retrying' : status;
  });
}

export interface WebhookDeliveryWorkerOptions extends WebhookDeliverySettings {
  boss: PgBoss;
  ctx: Pick<EngineContext, 'db' | 'queue'>;
  logger: Logger;
  /** Attempts in flight at once in this process (default 5). */
  concurrency?: number;
  /** How often it looks for retries that became due (default 5 s; a NOTIFY brings new deliveries at once). */
  pollSeconds?: number;
}

export interface WebhookDeliveryWorker {
  stop(): Promise<void>;
}

/**
 * Runs the delivery queue in a worker process, beside (not inside) the engine's agent queues.
 * A job that throws (the database failed) is repeated by pg-boss; the attempt fence keeps a
 * repeat from counting twice.
 */
export async function startWebhookDeliveryWorker(options: WebhookDeliveryWorkerOptions): Promise<WebhookDeliveryWorker> {
  const { boss, ctx, logger } = options;
  await ensureWebhookQueue(boss, options.timeoutMs);
  const pollSeconds = options.pollSeconds ?? 5;
  await boss.work(
    WEBHOOK_QUEUE,
    { batchSize: 1, localConcurrency: options.concurrency ?? 5, pollingIntervalSeconds: pollSeconds, notifyPollingIntervalSeconds: pollSeconds },
    async (jobs) => {
      for (const job of jobs) {
        const data = webhookJobSchema.parse(job.data);
        const outcome = await attemptDelivery(ctx, data, options);
        logger.debug({ deliveryId: data.deliveryId, attempt: data.attempt, outcome }, 'webhook delivery attempt');
      }
    },
  );
  logger.info({ queue: WEBHOOK_QUEUE }, 'webhook delivery worker running');
  return {
    stop: () => boss.offWork(WEBHOOK_QUEUE, { wait: true }),
  };
}
