/**
 * Cross-site request forgery: a browser attaches the session cookie to requests that another
 * site makes it send, so a state-changing request that relies on the cookie must come from the
 * app's own pages. The check follows Go's `http.CrossOriginProtection`: `Sec-Fetch-Site` when
 * the browser sends it, else `Origin` against the app's origin; a request with neither did not
 * come from a browser page (curl, server code) and is not ambient.
 *
 * Requests that carry their own credential in an `Authorization` header are not ambient (no
 * browser adds it by itself) and are never refused here.
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface OriginPolicy {
  /** The app's public origin (`ORIGIN`), e.g. `https://strata.example.com`; else the Host header decides. */
  origin?: string | undefined;
}

export type OriginVerdict = { ok: true } | { ok: false; reason: string };

/** Whether a request may change state on the strength of ambient credentials (the cookie). */
export function checkSameOrigin(method: string, headers: Headers, policy: OriginPolicy = {}): OriginVerdict {
  if (SAFE_METHODS.has(method.toUpperCase())) return { ok: true };
  if (headers.has('authorization')) return { ok: true };
  const site = headers.get('sec-fetch-site');
  if (site !== null) {
    if (site === 'same-origin' || site === 'none') return { ok: true };
    return { ok: false, reason: `Cross-site request refused (Sec-Fetch-Site: ${site})` };
  }
  const origin = headers.get('origin');
  if (origin === null) return { ok: true };
  if (origin === 'null') return { ok: false, reason: 'Cross-site request refused (Origin: null)' };
  if (sameOrigin(origin, policy.origin, headers.get('host'))) return { ok: true };
  return { ok: false, reason: 'Cross-site request refused (Origin does not match)' };
}

function sameOrigin(origin: string, appOrigin: string | undefined, host: string | null): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (appOrigin) {
    try {
      return parsed.origin === new URL(appOrigin).origin;
    } catch {
      return false;
    }
  }
  return host !== null && parsed.host === host.toLowerCase();
}
