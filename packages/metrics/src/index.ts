export { countEngineEvents } from './engine-counts.ts';
export { METRICS_PATH, type MetricsEndpointOptions, renderMetrics, scrapeAllowed, serveMetrics } from './endpoint.ts';
export { observeHttpRequest } from './http-requests.ts';
export { addRefresher, createMetrics, processMetrics, type Refresher, STREAM_TRANSPORTS, type StrataMetrics, type StreamTransport } from './registry.ts';
export { addStateGauges } from './state-gauges.ts';
export { type MetricsServer, startMetricsServer } from './worker-server.ts';
