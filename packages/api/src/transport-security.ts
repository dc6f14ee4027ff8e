/**
 * What every response of the web app carries, whoever produced it (a page, the REST or tRPC
 * API, the execution stream, a static file), and whether a request arrived over HTTPS. Pages
 * get their own Content-Security-Policy from SvelteKit (with a nonce for its inline bootstrap
 * script; see apps/web/vite.config.ts); every other response gets the strict one below.
 */

export interface TransportPolicy {
  /** The app's public origin (`ORIGIN`): an https:// origin means every request came over HTTPS. */
  origin?: string | undefined;
  /** Behind a reverse proxy (`TRUST_PROXY`): its `X-Forwarded-Proto` says how the client connected. */
  trustProxy?: boolean;
}

/** For responses that are not pages (JSON, event streams, files): nothing may run or load, nobody may frame them. */
export const NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Two years, the preload list's minimum; sent only over HTTPS, where browsers honour it. */
const HSTS = 'max-age=63072000; includeSubDomains';

/** True when the client reached the app over HTTPS: `ORIGIN` says so, or a trusted proxy does. */
export function isHttpsRequest(forwardedProto: string | null | undefined, policy: TransportPolicy = {}): boolean {
  if (policy.origin?.toLowerCase().startsWith('https://')) return true;
  if (!policy.trustProxy || !forwardedProto) return false;
  // A chain of proxies appends: the first value is what the client used.
  return forwardedProto.split(',')[0]!.trim().toLowerCase() === 'https';
}

/** The security headers for one response; `Content-Security-Policy` is the non-page one. */
export function securityHeaders(https: boolean): [name: string, value: string][] {
  const headers: [string, string][] = [
    ['content-security-policy', NON_PAGE_CSP],
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'strict-origin-when-cross-origin'],
    ['x-frame-options', 'DENY'],
    ['cross-origin-opener-policy', 'same-origin'],
  ];
  if (https) headers.push(['strict-transport-security', HSTS]);
  return headers;
}
