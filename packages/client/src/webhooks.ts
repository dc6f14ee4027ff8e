/**
 * For programs that receive Strata's webhooks: check a delivery's `Strata-Signature` header
 * against the raw body before trusting it. Node only (node:crypto); import it from
 * `@strata/client/webhooks` (the main entry stays browser-safe).
 */
export { DEFAULT_TOLERANCE_SECONDS, type VerifyOptions, verifyWebhookSignature } from '@strata/engine/webhook-signature';
export {
  type CreatedWebhookView,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookDeliveryView,
  type WebhookEventType,
  type WebhookView,
} from '@strata/engine/webhook-contract';
