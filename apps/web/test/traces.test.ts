import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createEngineHarness, type EngineHarness, until } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../../worker/test/processes.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * OpenTelemetry traces of whole runs, with a web and a worker process as in production, both
 * exporting over OTLP/HTTP (JSON, the exporter's own encoding) to a receiver in this test: the
 * start request's span, the execution's span and the span of every task attempt share one trace
 * id, with the execution under the request and each attempt under the execution, for a run that
 * completes (with a retried attempt), one that fails and one that is cancelled.
 */

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
};
type ExportRequest = { resourceSpans: { resource?: { attributes?: { key: string; value: AnyValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
type Span = OtlpSpan & { service: string; attrs: Record<string, string | number | boolean> };

const otlpValue = (v: AnyValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
const attrsOf = (list: { key: string; value: AnyValue }[] = []) => Object.fromEntries(list.map((a) => [a.key, otlpValue(a.value)]));

let receiver: Server;
let receiverUrl: string;
const spans: Span[] = [];
const contentTypes = new Set<string>();

let h: EngineHarness;
let web: RunningWeb;
let worker: WorkerProcess;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
    contentTypes.add(String(req.headers['content-type']));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const resourceSpans of body.resourceSpans) {
        const service = String(attrsOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service, attrs: attrsOf(span.attributes) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  h = await createEngineHarness();
  // Spans leave in batches every 100 ms here (5 s by default): each wait below allows for a batch.
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_BSP_SCHEDULE_DELAY: '100' };
  web = await startWeb({ DATABASE_URL: h.database.url, ...otel });
  worker = await spawnWorker(h.database.url, { ...otel, STRATA_AGENT_MODULES: fileURLToPath(new URL('../../worker/test/trace-agents.ts', import.meta.url)), TASK_RETRY_BASE_MS: '100' });
  token = (await apiCall(web.url, '/api/auth/signup', { body: { email: 'traces@example.com', password: 'a tracing password' } })).body.token;
  workspaceId = (await apiCall(web.url, '/api/workspaces', { body: { name: 'Traces' }, token })).body.workspace.id;
});
afterAll(async () => {
  await worker?.stop();
  await web?.stop();
  await h?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function startRun(name: string, items: unknown[], requestId: string): Promise<string> {
  const strategy = await apiCall(web.url, '/api/strategies', { body: { workspaceId, name, items }, token });
  if (!strategy.body.strategy) throw new Error(JSON.stringify(strategy.body));
  const response = await fetch(`${web.url}/api/executions/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId },
    body: JSON.stringify({ strategyId: strategy.body.strategy.id, workspaceId }),
  });
  const body = (await response.json()) as { executionId: string };
  expect(response.status).toBe(200);
  expect(response.headers.get('x-request-id')).toBe(requestId);
  return body.executionId;
}

/** The execution's tasks as the database has them, by key. */
async function attemptsOf(executionId: string) {
  const rows = await h.database.sql<{ key: string; attempt: number; status: string; id: string }[]>`
    select key, attempt, status, id from tasks where execution_id = ${executionId} order by key`;
  return rows;
}

/** Waits for a run's whole trace at the receiver, then checks its shape; returns its spans. */
async function traceOf(executionId: string, requestId: string, expectedAttempts: number) {
  const found = await until(
    `the trace of ${executionId}`,
    () => {
      const execution = spans.find((s) => s.name === 'execution' && s.attrs['strata.execution.id'] === executionId);
      const tasks = spans.filter((s) => s.name.startsWith('task ') && s.attrs['strata.execution.id'] === executionId);
      return execution && tasks.length >= expectedAttempts && { execution, tasks };
    },
    30_000,
  );
  const request = spans.find((s) => s.attrs['strata.request.id'] === requestId);
  if (!request) throw new Error(`no span for request ${requestId}`);
  const { execution, tasks } = found;

  // The request's server span, named after its route template, in the web process.
  expect(request).toMatchObject({ name: 'POST /api/executions/start', kind: 2, service: 'strata-web' });
  expect(request.attrs).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/api/executions/start', 'http.response.status_code': 200 });
  expect(request.parentSpanId ?? '').toBe('');

  // One trace: the execution under the request, every attempt under the execution.
  expect(execution.traceId).toBe(request.traceId);
  expect(execution.parentSpanId).toBe(request.spanId);
  expect(tasks).toHaveLength(expectedAttempts);
  for (const task of tasks) {
    expect(task.traceId).toBe(request.traceId);
    expect(task.parentSpanId).toBe(execution.spanId);
    expect(task.service).toBe('strata-worker');
  }
  // No other span of the receiver claims the execution's span id (it is recorded once).
  expect(spans.filter((s) => s.spanId === execution.spanId)).toHaveLength(1);
  // The execution span covers its attempts.
  for (const task of tasks) {
    expect(BigInt(task.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(execution.startTimeUnixNano));
    expect(BigInt(task.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(execution.endTimeUnixNano));
  }
  const keys = new Map((await attemptsOf(executionId)).map((t) => [t.id, t.key]));
  const attempts = tasks.map((t) => [t.attrs['strata.agent.type'], t.attrs['strata.task.attempt'], t.attrs['strata.task.outcome'], t.name, keys.get(String(t.attrs['strata.task.id']))]).sort();
  return { request, execution, tasks, attempts };
}

describe('traces at an OTLP/HTTP receiver', () => {
  it('shows a completed run, with its retried attempt, as one trace', async () => {
    const id = await startRun('Completes', [
      { key: 'write', description: 'Write', agentType: 'content', input: { prompt: 'A draft' } },
      { key: 'retry-edit', description: 'Edit', agentType: 'content', input: { prompt: 'An edit' }, dependsOn: ['write'], maxRetries: 2 },
    ], 'trace-run-completed');
    await h.waitForStatus(id, ['completed'], 30_000);
    const { execution, attempts } = await traceOf(id, 'trace-run-completed', 3);
    expect(execution.attrs).toMatchObject({ 'strata.execution.status': 'completed', 'strata.workspace.id': workspaceId, 'strata.execution.total_tasks': 2, 'strata.execution.completed_tasks': 2 });
    expect(execution.status?.code ?? 0).not.toBe(2);
    expect(attempts).toEqual([
      ['content', 1, 'completed', 'task content', 'write'],
      ['content', 1, 'failed', 'task content', 'retry-edit'],
      ['content', 2, 'completed', 'task content', 'retry-edit'],
    ]);
    expect((await attemptsOf(id)).map((t) => [t.key, t.attempt, t.status])).toEqual([
      ['retry-edit', 2, 'completed'],
      ['write', 1, 'completed'],
    ]);
    expect([...contentTypes]).toEqual(['application/json']);
  });

  it('shows a failed run with the failure on its spans', async () => {
    const id = await startRun('Fails', [{ key: 'fail-mail', description: 'Mail', agentType: 'content', input: { prompt: 'A mail' }, maxRetries: 0 }], 'trace-run-failed');
    await h.waitForStatus(id, ['failed'], 30_000);
    const { execution, tasks, attempts } = await traceOf(id, 'trace-run-failed', 1);
    expect(execution.attrs['strata.execution.status']).toBe('failed');
    expect(execution.status?.code).toBe(2); // ERROR
    expect(attempts).toEqual([['content', 1, 'failed', 'task content', 'fail-mail']]);
    expect(tasks[0]?.status).toMatchObject({ code: 2, message: 'this one always fails' });
  });

  it('shows a cancelled run, ended once its running attempt has finished', async () => {
    const id = await startRun('Cancelled', [
      { key: 'hold-plan', description: 'Plan', agentType: 'content', input: { prompt: 'A plan' } },
      { key: 'after', description: 'After', agentType: 'content', input: { prompt: 'Later' }, dependsOn: ['hold-plan'] },
    ], 'trace-run-cancelled');
    await until('the first task running', async () => (await attemptsOf(id)).some((t) => t.status === 'in_progress'), 30_000);
    const cancel = await fetch(`${web.url}/api/executions/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-cancel' } });
    expect(cancel.status).toBe(200);
    await h.waitForStatus(id, ['cancelled'], 30_000);
    await until('the execution settled', async () => (await h.database.sql`select 1 from executions where id = ${id} and completed_at is not null`).length === 1, 30_000);
    const { execution, attempts } = await traceOf(id, 'trace-run-cancelled', 1);
    expect(execution.attrs).toMatchObject({ 'strata.execution.status': 'cancelled', 'strata.execution.skipped_tasks': 1 });
    expect(attempts).toEqual([['content', 1, 'completed', 'task content', 'hold-plan']]);
    // The cancel call has its own span, in its own trace, named after its route.
    const cancelSpan = await until('the cancel span', () => spans.find((s) => s.attrs['strata.request.id'] === 'trace-cancel'));
    expect(cancelSpan.name).toBe('POST /api/executions/:id/cancel');
  });

  it('names the spans of pages, tRPC calls and the health check after their routes', async () => {
    for (const [path, requestId] of [['/login', 'trace-page'], ['/api/trpc/auth.me', 'trace-trpc'], ['/api/health', 'trace-health'], ['/api/executions/exec_1_x/stream', 'trace-sse']]) {
      const response = await fetch(`${web.url}${path}`, { headers: { 'x-request-id': requestId! } });
      await response.arrayBuffer();
    }
    const named = await until('the four spans', () => {
      const found = ['trace-page', 'trace-trpc', 'trace-health', 'trace-sse'].map((id) => spans.find((s) => s.attrs['strata.request.id'] === id));
      return found.every(Boolean) && found.map((s) => [s!.name, s!.attrs['http.response.status_code']]);
    });
    expect(named).toEqual([
      ['GET /login', 200],
      ['GET /api/trpc/auth.me', 401],
      ['GET /api/health', 200],
      ['GET /api/executions/:id/stream', 401],
    ]);
  });
});
