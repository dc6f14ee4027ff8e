/**
 * Tracing through the OpenTelemetry API only: every function here is a cheap no-op until an
 * entry point starts the SDK (`@strata/telemetry/sdk`, when OTEL_EXPORTER_OTLP_ENDPOINT is set).
 */
export { context as otelContext, type SpanContext } from '@opentelemetry/api';
export { type AttemptOutcomeName, endAttemptSpan, type ExecutionTrace, newExecutionTrace, recordExecutionSpan, startAttemptSpan, underSpan } from './execution.ts';
export { endRequestSpan, currentRouteSlot, type RouteSlot, setHttpRoute, startRequestSpan, startSubRequestSpan, withRouteSlot } from './http.ts';
export { tracingEnabled } from './state.ts';
