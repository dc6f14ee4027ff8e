import { refuseCrossSite } from '@strata/api';
import { loadConfig } from '@strata/config';
import type { Handle } from '@sveltejs/kit/hooks';

/**
 * Cross-site request forgery, judged once for every route (REST, tRPC, pages and their form
 * actions) by our own check: SvelteKit's built-in one is off (vite.config.ts) because it refuses
 * every bodiless POST without an Origin, such as the seed's `curl -X POST .../pause` with a
 * Bearer token, and it does not look at Sec-Fetch-Site.
 */
export const crossSiteGuard: Handle = async ({ event, resolve }) => {
  const refusal = await refuseCrossSite(event.request, { origin: loadConfig().ORIGIN });
  return refusal ?? resolve(event);
};
