/**
 * The signature scheme of webhook deliveries (Stripe's): the header
 * `Strata-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
 * Signing and checking live here together so they cannot drift; this module imports only
 * node:crypto, so a receiver's program can use the checker (`@strata/client/webhooks`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's time may be from the receiver's clock by default, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const hmacHex = (secret: string, timestamp: number, body: string | Uint8Array): string =>
  createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');

/** The `Strata-Signature` header value for `body` sent at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

export interface VerifyOptions {
  /** Refuse a signature made longer ago (or further ahead) than this; default 300 s. */
  toleranceSeconds?: number;
  /** The receiver's clock (default: now). */
  now?: Date;
}

/**
 * True when `header` (the `Strata-Signature` value) signs exactly `body` (the raw request body,
 * as received, before any JSON parsing) with `secret`, at a time within the tolerance of `now`.
 * Any `v1=` entry may match (several appear while a secret is being rolled over); the
 * comparison takes constant time.
 */
export function verifyWebhookSignature(secret: string, header: string | null | undefined, body: string | Uint8Array, options: VerifyOptions = {}): boolean {
  if (!header || !secret) return false;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  if (Math.abs(now - timestamp) > tolerance) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return signatures.some((candidate) => timingSafeEqual(Buffer.from(candidate, 'hex'), expected));
}
