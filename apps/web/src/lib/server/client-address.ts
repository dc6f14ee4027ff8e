import { clientAddress } from '@strata/api';
import { loadConfig } from '@strata/config';
import type { RequestEvent } from '@sveltejs/kit';

/**
 * The caller's address for the API context (the login throttle counts per address): the
 * socket's peer, or behind a trusted proxy (`TRUST_PROXY`) the proxy's X-Forwarded-For entry.
 */
export function requestClientAddress(event: Pick<RequestEvent, 'getClientAddress' | 'request'>): string | null {
  let remoteAddress: string | null = null;
  try {
    remoteAddress = event.getClientAddress();
  } catch {
    // Not every host knows the peer (prerendering); the throttle then counts per account only.
  }
  return clientAddress({ remoteAddress, forwardedFor: event.request.headers.get('x-forwarded-for'), trustProxy: loadConfig().TRUST_PROXY });
}
