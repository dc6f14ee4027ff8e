import { createServer, type Server } from 'node:http';
import { context } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endAttemptSpan, newExecutionTrace, recordExecutionSpan, startAttemptSpan } from './execution.ts';
import { endRequestSpan, setHttpRoute, startRequestSpan } from './http.ts';
import { startTracing, tracesUrl } from './sdk.ts';
import { tracingEnabled } from './state.ts';

/**
 * The tracing package on its own, against an OTLP/HTTP receiver in this test: nothing is
 * recorded or stored until the SDK starts; once it has, a request continues its caller's trace,
 * an execution started under it takes ids decided at start (stored as W3C context) and is
 * recorded with them when it ends, and each attempt's span names the execution as its parent.
 */
type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; status?: { code?: number; message?: string }; attributes?: { key: string; value: { stringValue?: string; intValue?: number | string } }[] };

let receiver: Server;
let endpoint: string;
const spans: OtlpSpan[] = [];
const exportHeaders: Record<string, string | string[] | undefined>[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        exportHeaders.push(req.headers);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
});
afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined);
};

describe('tracing off', () => {
  it('records nothing and stores no context', () => {
    expect(tracingEnabled()).toBe(false);
    expect(newExecutionTrace()).toBeNull();
    expect(startAttemptSpan({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, { id: 't', executionId: 'e', agentType: 'email', attempt: 1 })).toBeNull();
    expect(startRequestSpan({ method: 'GET', path: '/', headers: {}, requestId: 'r' })).toBeNull();
  });
});

describe('tracing on', () => {
  it('puts a request, the execution it starts and every attempt in the caller\'s trace, parent by parent', async () => {
    let stored: ReturnType<typeof newExecutionTrace> = null;
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    const tracing = startTracing({ endpoint, serviceName: 'strata-test', scheduledDelayMillis: 10, headers: 'x-api-key=s3cr%3Dt,x-team=strata', timeoutMillis: 5000 });
    try {
      const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const request = startRequestSpan({ method: 'POST', path: '/api/executions/start', headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }, requestId: 'req-1' });
      expect(request).not.toBeNull();
      stored = context.with(request!.context, () => {
        setHttpRoute('/api/executions/start');
        return newExecutionTrace();
      });
      expect(stored?.traceparent).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
      expect(stored?.parentSpanId).toBe(request!.span.spanContext().spanId);
      endRequestSpan(request!.span, 200);

      for (const attempt of [1, 2]) {
        const started = startAttemptSpan(stored, { id: 'task_1', executionId: 'exec_1', agentType: 'email', attempt });
        endAttemptSpan(started!.span, attempt === 1 ? 'failed' : 'completed', attempt === 1 ? 'SMTP 421' : undefined);
      }
      const startTime = new Date(Date.now() - 1000);
      recordExecutionSpan(stored!, { executionId: 'exec_1', status: 'failed', startTime, endTime: new Date(), error: 'Task a failed' });

      // A second execution with no request around it starts a trace of its own.
      const alone = newExecutionTrace();
      expect(alone?.parentSpanId).toBeUndefined();
      expect(alone?.traceparent.split('-')[1]).not.toBe(callerTrace);
    } finally {
      await tracing.shutdown();
    }
    expect(tracingEnabled()).toBe(false);

    // OTEL_EXPORTER_OTLP_HEADERS, percent-decoded, on every export.
    expect(exportHeaders.length).toBeGreaterThan(0);
    expect(exportHeaders.every((h) => h['x-api-key'] === 's3cr=t' && h['x-team'] === 'strata')).toBe(true);
    const inTrace = spans.filter((s) => s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    expect(inTrace.map((s) => s.name).sort()).toEqual(['POST /api/executions/start', 'execution', 'task email', 'task email']);
    const request = inTrace.find((s) => s.name === 'POST /api/executions/start')!;
    expect(request.parentSpanId).toBe('00f067aa0ba902b7');
    expect(attr(request, 'strata.request.id')).toBe('req-1');
    const execution = inTrace.find((s) => s.name === 'execution')!;
    // Recorded at its end with the span id decided (and stored) at its start.
    expect(execution.spanId).toBe(stored?.traceparent.split('-')[2]);
    expect(execution.parentSpanId).toBe(request.spanId);
    expect(execution.status?.code).toBe(2);
    expect(execution.status?.message).toBe('Task a failed');
    const attempts = inTrace.filter((s) => s.name === 'task email');
    expect(attempts.every((s) => s.parentSpanId === execution.spanId)).toBe(true);
    expect(attempts.map((s) => [attr(s, 'strata.task.attempt'), attr(s, 'strata.task.outcome'), s.status?.code ?? 0]).sort()).toEqual([
      [1, 'failed', 2],
      [2, 'completed', 0],
    ]);
  });
});
