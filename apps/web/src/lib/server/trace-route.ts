import { setHttpRoute } from '@strata/telemetry';
import type { Handle } from '@sveltejs/kit/hooks';

/**
 * Names the request's span after the SvelteKit route that serves it, without its layout groups
 * (`/(app)/app/executions/[id]` is `/app/executions/[id]`). The REST and tRPC adapters name
 * theirs more precisely afterwards (`/api/executions/:id`).
 */
export const traceRouteHandle: Handle = ({ event, resolve }) => {
  if (event.route.id) setHttpRoute(event.route.id.replace(/\/\([^/)]+\)/g, '') || '/');
  return resolve(event);
};
