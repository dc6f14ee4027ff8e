/**
 * One delivery attempt over HTTP: resolve the host, refuse private or internal addresses (the
 * shared guard in @strata/net, as the research agent's fetch), connect only to the addresses
 * checked, POST the signed body, and judge the answer by its status alone (redirects are not
 * followed: a 3xx is a failed attempt).
 */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isAddressLiteral, pinnedLookup, refusedAddress } from '@strata/net';
import { WEBHOOK_SIGNATURE_HEADER } from './contract.ts';
import { signWebhookBody } from './signature.ts';

export type SendResult =
  | { ok: true; statusCode: number }
  /** `retry`: false when another attempt cannot help (the address is refused). */
  | { ok: false; statusCode: number | null; error: string; retry: boolean };

export interface SendOptions {
  secret: string;
  allowHosts: ReadonlySet<string>;
  timeoutMs: number;
  deliveryId: string;
  /** The signature's time (default: now). */
  now?: Date;
}

const USER_AGENT = 'Strata-Webhooks/1.0';

export async function sendWebhook(target: string, body: string, options: SendOptions): Promise<SendResult> {
  const url = new URL(target);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const signal = AbortSignal.timeout(options.timeoutMs);
  let addresses: LookupAddress[];
  if (isAddressLiteral(hostname)) addresses = [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }];
  else {
    try {
      addresses = await lookup(hostname, { all: true });
    } catch (error) {
      return { ok: false, statusCode: null, error: `Could not resolve ${hostname}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, retry: true };
    }
  }
  if (refusedAddress(hostname, addresses, options.allowHosts)) {
    return {
      ok: false,
      statusCode: null,
      error: `Not sent: ${hostname} is or resolves to a private or internal address (add the host to WEBHOOK_ALLOW_HOSTS to allow it)`,
      retry: false,
    };
  }
  const timestamp = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const requestOptions: RequestOptions = {
    method: 'POST',
    protocol: url.protocol,
    hostname,
    port: url.port || undefined,
    path: `${url.pathname}${url.search}`,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': USER_AGENT,
      [WEBHOOK_SIGNATURE_HEADER]: signWebhookBody(options.secret, body, timestamp),
      'strata-delivery-id': options.deliveryId,
    },
    lookup: pinnedLookup(addresses),
    agent: false,
    signal,
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const statusCode = await new Promise<number>((resolve, reject) => {
      const req = send(requestOptions, (response) => {
        // Only the status counts; the body is read away (bounded by the timeout) and dropped.
        response.on('error', reject);
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.resume();
      });
      req.on('error', reject);
      req.end(body);
    });
    if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode };
    return { ok: false, statusCode, error: `The endpoint answered HTTP ${statusCode}`, retry: true };
  } catch (error) {
    if (signal.aborted) return { ok: false, statusCode: null, error: `No answer within ${options.timeoutMs} ms`, retry: true };
    return { ok: false, statusCode: null, error: `Could not deliver: ${(error as Error).message || (error as NodeJS.ErrnoException).code}`.slice(0, 500), retry: true };
  }
}
