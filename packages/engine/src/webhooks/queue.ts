import type { PgBoss } from 'pg-boss';
import { z } from 'zod';

/** Webhook deliveries have their own queue, apart from the agents' (the engine's task claims never see it). */
export const WEBHOOK_QUEUE = 'webhook.delivery';

/** The payload of one delivery attempt's job, defined once for sender and worker. */
export const webhookJobSchema = z.object({
  deliveryId: z.string(),
  /** Fences the attempt: a job whose attempt is not the delivery's next one is dropped. */
  attempt: z.number().int().positive(),
});
export type WebhookJob = z.infer<typeof webhookJobSchema> & {
  /** A retry is due at this time; none: now. */
  startAfter?: Date;
};

/**
 * The retry schedule is the delivery worker's (schedule.ts: each retry is a new job with its own
 * due time). pg-boss only repeats a job whose worker died or whose database write failed; the
 * attempt fence makes that safe. A job outlives its attempt's timeout, so it only expires when
 * its worker is gone.
 */
export function webhookQueueOptions(timeoutMs: number) {
  return { notify: true, retryLimit: 3, retryDelay: 30, retryBackoff: false, expireInSeconds: Math.ceil(timeoutMs / 1000) + 60, deleteAfterSeconds: 3600 } as const;
}

/** Creates the delivery queue, or brings an existing one to the current policy. */
export async function ensureWebhookQueue(boss: PgBoss, timeoutMs = 10_000): Promise<void> {
  const options = webhookQueueOptions(timeoutMs);
  await boss.createQueue(WEBHOOK_QUEUE, options);
  const current = await boss.getQueue(WEBHOOK_QUEUE);
  if (current && (current.retryLimit !== options.retryLimit || current.expireInSeconds !== options.expireInSeconds)) {
    const { notify: _, ...policy } = options;
    await boss.updateQueue(WEBHOOK_QUEUE, policy);
  }
}
