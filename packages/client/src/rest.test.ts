import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StrataApiError, StrataRestClient } from './rest.ts';

type Script = (req: IncomingMessage, n: number) => { status: number; body: unknown } | 'drop';

let server: Server | undefined;
const seen: { method: string; url: string; key: string | undefined; auth: string | undefined; at: number; body: unknown }[] = [];

async function serve(script: Script): Promise<string> {
  seen.length = 0;
  server = createServer((req, res) => {
    const at = Date.now();
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, key: req.headers['idempotency-key'] as string | undefined, auth: req.headers.authorization, at, body: text ? JSON.parse(text) : undefined });
      const step = script(req, seen.length);
      if (step === 'drop') return void req.socket.destroy();
      res.writeHead(step.status, { 'content-type': 'application/json' }).end(JSON.stringify(step.body));
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise((r) => server?.close(r));
});

const started = { success: true, executionId: 'exec_1_a', message: 'Strategy execution started', execution: { id: 'exec_1_a', status: 'pending', strategyId: 's', startedAt: null, totalTasks: 1 } };

describe('StrataRestClient', () => {
  it('does not retry a 4xx and surfaces its error', async () => {
    const baseUrl = await serve(() => ({ status: 403, body: { error: 'Access denied' } }));
    const client = new StrataRestClient({ baseUrl, token: 'strata_x', backoffMs: 10 });
    const error = await client.startExecution({ strategyId: 's', workspaceId: 'w' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error).toMatchObject({ status: 403, message: 'Access denied' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.auth).toBe('Bearer strata_x');
  });

  it('retries 5xx and network errors with backoff, keeping one Idempotency-Key', async () => {
    const baseUrl = await serve((_, n) => (n === 1 ? { status: 502, body: { error: 'Bad gateway' } } : n === 2 ? 'drop' : { status: 200, body: started }));
    const client = new StrataRestClient({ baseUrl, backoffMs: 50 });
    const result = await client.startExecution({ strategyId: 's', workspaceId: 'w' });
    expect(result.executionId).toBe('exec_1_a');
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(seen[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(45);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(95);
  });

  it('re-runs an execution with its mode, keeping one Idempotency-Key across retries of the call; a 409 is final', async () => {
    const baseUrl = await serve((req, n) => {
      if (req.url === '/api/executions/running/retry') return { status: 409, body: { error: 'Cannot retry an execution that is running' } };
      return n === 1 ? { status: 503, body: { error: 'Unavailable' } } : { status: 201, body: { ...started, retryOf: 'exec 0/a' } };
    });
    const client = new StrataRestClient({ baseUrl, backoffMs: 5 });
    const result = await client.retryExecution('exec 0/a', { mode: 'all' });
    expect(result.retryOf).toBe('exec 0/a');
    await client.retryExecution('e', { idempotencyKey: 'mine' });
    await expect(client.retryExecution('running')).rejects.toMatchObject({ status: 409, message: 'Cannot retry an execution that is running' });
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', '/api/executions/exec%200%2Fa/retry', { mode: 'all' }],
      ['POST', '/api/executions/exec%200%2Fa/retry', { mode: 'all' }],
      ['POST', '/api/executions/e/retry', {}],
      ['POST', '/api/executions/running/retry', {}],
    ]);
    expect(seen[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]?.key).toBe(seen[0]?.key);
    expect(seen[2]?.key).toBe('mine');
  });

  it('gives up after maxRetries attempts on persistent 5xx', async () => {
    const baseUrl = await serve(() => ({ status: 500, body: { error: 'Internal server error' } }));
    const client = new StrataRestClient({ baseUrl, backoffMs: 5, maxRetries: 3 });
    await expect(client.getStatus('exec_1')).rejects.toMatchObject({ status: 500, message: 'Internal server error' });
    expect(seen).toHaveLength(3);
    expect(seen[0]?.url).toBe('/api/executions/exec_1/status');
  });

  it('asks for the status parts named in include, and for one task', async () => {
    const baseUrl = await serve((req) => ({ status: 200, body: req.url!.includes('/tasks/') ? { task: { id: 't/1' } } : { execution: {}, health: {}, tasks: [], metrics: {} } }));
    const client = new StrataRestClient({ baseUrl });
    await client.getStatus('e 1');
    await client.getStatus('e 1', { include: ['detail', 'results'] });
    expect((await client.getTask('e 1', 't/1')).task.id).toBe('t/1');
    expect(seen.map((s) => s.url)).toEqual(['/api/executions/e%201/status', '/api/executions/e%201/status?include=detail,results', '/api/executions/e%201/tasks/t%2F1']);
  });

  it('calls the control endpoints', async () => {
    const baseUrl = await serve((req) => ({ status: 200, body: { success: true, message: 'ok', execution: { id: 'e', status: req.url!.split('/').pop() } } }));
    const client = new StrataRestClient({ baseUrl });
    expect((await client.pauseExecution('e')).execution.status).toBe('pause');
    expect((await client.resumeExecution('e')).execution.status).toBe('resume');
    expect((await client.cancelExecution('e')).execution.status).toBe('cancel');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
  });
});
