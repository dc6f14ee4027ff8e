import { createServer, type Server } from 'node:http';
import { startTracing, type Tracing } from '@strata/telemetry/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution } from '../lifecycle.ts';
import { claimTasks, recordOutcomes } from '../runner.ts';
import { createEngineHarness, type EngineHarness } from '../testing.ts';

/**
 * With tracing on, a child execution joins its parent's trace: its stored context names the
 * trace of the parent execution and, as its parent span, the attempt of the `strategy` task that
 * started it, so one trace shows the parent, its tasks and the child's run beneath them.
 */
let h: EngineHarness;
let tracing: Tracing;
let receiver: Server;

beforeAll(async () => {
  receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  tracing = startTracing({ endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, serviceName: 'strata-test' });
  h = await createEngineHarness();
});
afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
  await new Promise((resolve) => receiver?.close(resolve));
});

type Stored = { traceparent: string; parentSpanId?: string };
const traceOf = async (executionId: string) => (await h.database.sql<{ trace_context: Stored }[]>`select trace_context from executions where id = ${executionId}`)[0]!.trace_context;

describe('a child execution under tracing', () => {
  it("is started under the attempt's span, in the parent's trace", async () => {
    const ws = await h.workspace();
    const child = await h.strategy(ws, [{ key: 'c', description: 'child task', agentType: 'analysis' }]);
    const parent = await h.strategy(ws, [{ key: 'sub', description: 'run the child', agentType: 'strategy', input: { strategyId: child } }]);
    const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
    const parentTrace = await traceOf(execution.id);
    const traceId = parentTrace.traceparent.split('-')[1]!;
    const [queued] = await h.database.sql<{ id: string; attempt: number; job_id: string }[]>`select id, attempt, job_id from tasks where execution_id = ${execution.id}`;
    const [claimed] = await claimTasks(h.ctx, [{ taskId: queued!.id, executionId: execution.id, attempt: queued!.attempt, jobId: queued!.job_id }], 'w1', 30);
    // The attempt's span, as the worker hands it over with the outcome.
    const attemptSpan = { traceId, spanId: 'a1b2c3d4e5f60718', traceFlags: 1 };
    const outcome = { taskId: claimed!.id, executionId: execution.id, attempt: claimed!.attempt, jobId: claimed!.jobId, ok: 'child' as const, request: { strategyId: child }, attemptSpan };
    expect((await recordOutcomes(h.ctx, [outcome])).recorded).toBe(1);

    const [started] = await h.database.sql<{ id: string }[]>`select id from executions where parent_task_id = ${claimed!.id}`;
    const childTrace = await traceOf(started!.id);
    expect(childTrace.traceparent.split('-')[1]).toBe(traceId);
    expect(childTrace.parentSpanId).toBe('a1b2c3d4e5f60718');
    expect(childTrace.traceparent.split('-')[2]).not.toBe(parentTrace.traceparent.split('-')[2]);
  });
});
