import { isIP } from 'node:net';

/**
 * The address a request came from, for the login throttle. Behind a trusted reverse proxy
 * (`TRUST_PROXY`) the socket's peer is the proxy, so the address is the last entry of
 * X-Forwarded-For: the one the proxy appended. Entries before it are whatever the client sent
 * and are never believed. Without a trusted proxy the header is ignored entirely.
 */
export function clientAddress(input: { remoteAddress: string | null | undefined; forwardedFor: string | null; trustProxy: boolean }): string | null {
  if (input.trustProxy && input.forwardedFor) {
    const last = input.forwardedFor.split(',').at(-1)?.trim() ?? '';
    if (isIP(last)) return last;
  }
  return input.remoteAddress || null;
}
