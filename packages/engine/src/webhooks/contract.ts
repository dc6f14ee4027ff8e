/**
 * Webhooks as the API shows them, defined once: the REST document, the REST client and the
 * dashboard use these (dates as ISO strings). Imports only zod and the enums.
 */
import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_DELIVERY_TYPES, WEBHOOK_EVENT_TYPES } from '@strata/db/enums';
import { z } from 'zod';

export { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_DELIVERY_TYPES, WEBHOOK_EVENT_TYPES };
export type { WebhookDeliveryStatus, WebhookDeliveryType, WebhookEventType } from '@strata/db/enums';

export const WEBHOOK_LIMITS = {
  perWorkspace: 20,
  urlMaxChars: 2048,
  defaultHealthThreshold: 60,
  deliveriesPageMax: 200,
} as const;

/** How far a signature's time may be from the receiver's clock (seconds): Stripe's default. */
export const WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = 'Strata-Signature';

export const webhookViewSchema = z.object({
  id: z.string(),
  workspaceId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  healthThreshold: z.number().int().meta({ description: '`execution.health_below` is sent when the health score first drops below this (0–100)' }),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
export type WebhookView = z.infer<typeof webhookViewSchema>;

/** A webhook just created: the only answer that carries its signing secret. */
export const createdWebhookSchema = webhookViewSchema.extend({
  secret: z.string().meta({ description: 'The signing secret (whsec_…): shown this once, never listed again' }),
});
export type CreatedWebhookView = z.infer<typeof createdWebhookSchema>;

export const webhookDeliveryViewSchema = z.object({
  id: z.string().meta({ description: 'The delivery id: the `id` of the body sent, the same on every attempt (receivers may use it to drop repeats)' }),
  webhookId: z.string(),
  type: z.enum(WEBHOOK_DELIVERY_TYPES),
  executionId: z.string().nullable(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable().meta({ description: "The receiver's last HTTP status; null when no answer came (network error, timeout, refused address)" }),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable().meta({ description: 'When the next attempt is due (pending only)' }),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type WebhookDeliveryView = z.infer<typeof webhookDeliveryViewSchema>;
