import { endRequestSpan, otelContext, setHttpRoute, startSubRequestSpan } from '@strata/telemetry';
import type { Handle } from '@sveltejs/kit/hooks';

/** A SvelteKit route id without its layout groups: `/(app)/app/executions/[id]` is `/app/executions/[id]`. */
const routeOf = (id: string) => id.replace(/\/\([^/)]+\)/g, '') || '/';

/**
 * Names the request's span after the SvelteKit route that serves it; the REST and tRPC adapters
 * name theirs more precisely afterwards (`/api/executions/:id`). A page load's own calls to the
 * API (`event.fetch`, served in process) get child spans, so the page's span keeps its name.
 */
export const traceRouteHandle: Handle = async ({ event, resolve }) => {
  const sub = event.isSubRequest ? startSubRequestSpan(event.request.method, event.url.pathname) : null;
  if (event.isSubRequest && !sub) return resolve(event);
  if (!sub) {
    if (event.route.id) setHttpRoute(routeOf(event.route.id));
    return resolve(event);
  }
  try {
    const response = await otelContext.with(sub.context, () => {
      if (event.route.id) setHttpRoute(routeOf(event.route.id));
      return resolve(event);
    });
    endRequestSpan(sub.span, response.status);
    return response;
  } catch (error) {
    endRequestSpan(sub.span, 500);
    throw error;
  }
};
