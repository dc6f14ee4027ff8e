/**
 * The server span of an HTTP request: started where the request enters the process, named
 * `METHOD /route/template` once a handler knows the route (setHttpRoute), ended with the status.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { ATTR, tracer } from './execution.ts';
import { requestMethods, tracingEnabled } from './state.ts';

/**
 * Starts the request's span (continuing a caller's trace from its `traceparent` header) and
 * returns it with the context to run the handler in; null when tracing is off.
 */
export function startRequestSpan(request: { method: string; path: string; headers: Record<string, string | string[] | undefined>; requestId: string }): { span: Span; context: Context } | null {
  if (!tracingEnabled()) return null;
  const incoming = propagation.extract(ROOT_CONTEXT, request.headers);
  const span = tracer().startSpan(
    request.method,
    { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.path, [ATTR.requestId]: request.requestId } },
    incoming,
  );
  requestMethods().set(span, request.method);
  return { span, context: trace.setSpan(incoming, span) };
}

/**
 * A request the app makes to itself while serving one (SvelteKit's `event.fetch` from a page's
 * load): a child span of the request's, named by its own route, so the page keeps its name.
 */
export function startSubRequestSpan(method: string, path: string): { span: Span; context: Context } | null {
  const parent = trace.getSpan(context.active());
  if (!tracingEnabled() || !parent) return null;
  const span = tracer().startSpan(method, { kind: SpanKind.INTERNAL, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path } });
  requestMethods().set(span, method);
  return { span, context: trace.setSpan(context.active(), span) };
}

/** The route a request was first recognised as (setHttpRoute), whether tracing is on or not: metrics label dashboard pages with it. */
export interface RouteSlot {
  route?: string;
}
// One store per process: the web app's build bundles its own copy of this module beside server.ts's.
const SLOT_KEY = Symbol.for('strata.telemetry.routeSlot');
const slotHolder = globalThis as { [SLOT_KEY]?: AsyncLocalStorage<RouteSlot> };
slotHolder[SLOT_KEY] ??= new AsyncLocalStorage<RouteSlot>();
const routeSlots: AsyncLocalStorage<RouteSlot> = slotHolder[SLOT_KEY];

/** Runs a request's handling with an empty route slot of its own. */
export function withRouteSlot<T>(fn: () => T): T {
  return routeSlots.run({}, fn);
}

/** The current request's route slot (undefined outside withRouteSlot), to read once the response is done. */
export function currentRouteSlot(): RouteSlot | undefined {
  return routeSlots.getStore();
}

/**
 * Names the current request's span after its route template (`/api/executions/:id`). The first
 * route named also fills the request's route slot: a page's own later calls to the API, served in
 * process, do not rename the page.
 */
export function setHttpRoute(route: string): void {
  const slot = routeSlots.getStore();
  if (slot && slot.route === undefined) slot.route = route;
  const span = trace.getSpan(context.active());
  const method = span && requestMethods().get(span);
  if (!span || !method) return;
  span.setAttribute(ATTR_HTTP_ROUTE, route);
  span.updateName(`${method} ${route}`);
}

export function endRequestSpan(span: Span, status: number): void {
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
