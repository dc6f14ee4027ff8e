/**
 * Starts the OpenTelemetry trace SDK for this process: spans are batched and exported over
 * OTLP/HTTP (JSON) to `<endpoint>/v1/traces`, as OTEL_EXPORTER_OTLP_ENDPOINT means in the
 * specification. Only entry points import this module; without it the API stays a no-op.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { parseKeyPairsIntoRecord, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { idGenerator, markTracingStarted } from './state.ts';

export interface Tracing {
  /** Exports what is still buffered and stops; spans started afterwards are not recorded. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (e.g. http://localhost:4318). */
  endpoint: string;
  serviceName: string;
  /** How long spans wait to be batched before export (the SDK's default is 5 s). */
  scheduledDelayMillis?: number;
  /** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2` (values percent-encoded), sent with every export, e.g. a collector's API key. */
  headers?: string | undefined;
  /** OTEL_EXPORTER_OTLP_TIMEOUT: one export's deadline in ms. */
  timeoutMillis?: number | undefined;
}

export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export function startTracing(options: TracingOptions): Tracing {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    idGenerator,
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({
          url: tracesUrl(options.endpoint),
          // The specification's format, read by OpenTelemetry's own parser (this exporter version reads no variable itself).
          ...(options.headers ? { headers: parseKeyPairsIntoRecord(options.headers) } : {}),
          ...(options.timeoutMillis ? { timeoutMillis: options.timeoutMillis } : {}),
        }),
        ...(options.scheduledDelayMillis ? { scheduledDelayMillis: options.scheduledDelayMillis } : {}),
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  markTracingStarted(true);
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= (async () => {
        markTracingStarted(false);
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
        }
      })();
      return stopped;
    },
  };
}
