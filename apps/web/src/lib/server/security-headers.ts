import { isHttpsRequest, securityHeaders } from '@strata/api';
import { loadConfig } from '@strata/config';
import type { Handle } from '@sveltejs/kit/hooks';

/**
 * Adds the security headers to every response SvelteKit produces (pages, /api, /docs): a page
 * keeps the Content-Security-Policy SvelteKit wrote for it (with its nonce), anything else gets
 * the strict non-page policy. The Node server does the same for what bypasses SvelteKit.
 */
export const securityHeadersHandle: Handle = async ({ event, resolve }) => {
  const response = await resolve(event);
  const config = loadConfig();
  const https = isHttpsRequest(event.request.headers.get('x-forwarded-proto'), { origin: config.ORIGIN, trustProxy: config.TRUST_PROXY });
  const missing = securityHeaders(https).filter(([name]) => !response.headers.has(name));
  if (missing.length === 0) return response;
  try {
    for (const [name, value] of missing) response.headers.set(name, value);
    return response;
  } catch {
    // A response whose headers are immutable (one passed through from fetch): copy it.
    const copy = new Response(response.body, response);
    for (const [name, value] of missing) copy.headers.set(name, value);
    return copy;
  }
};
