import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, readWs, type StreamEvent } from './stream-clients.ts';
import { startWeb, type RunningWeb } from './server.ts';

let h: EngineHarness;
let webA: RunningWeb;
let webB: RunningWeb;
let token: string;
let workspaceId: string;

const FINAL = new Set(['execution-completed', 'execution-cancelled', 'error']);

async function post(path: string, body: unknown, bearer = token) {
  const response = await fetch(`${webA.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(body) });
  return response.json();
}

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('coordination', async ({ task, progress }) => {
    await new Promise((r) => setTimeout(r, Number(task.input.delayMs ?? 20)));
    await progress({ half: true });
    return { key: task.key };
  });
  h.registry.register('analysis', async () => {
    throw new Error('mail server said no');
  });
  await h.startWorker();
  [webA, webB] = await Promise.all([startWeb({ DATABASE_URL: h.database.url }), startWeb({ DATABASE_URL: h.database.url })]);
  const response = await fetch(`${webA.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'watcher@example.com', password: 'watching closely' }) });
  token = (await response.json()).token;
  workspaceId = (await post('/api/workspaces', { name: 'Live' })).workspace.id;
});
afterAll(async () => {
  await Promise.all([webA?.stop(), webB?.stop()]);
  await h?.close();
});

async function strategy(items: unknown[], extra: Record<string, unknown> = {}) {
  return (await post('/api/strategies', { workspaceId, name: 'stream', items, ...extra })).strategy.id as string;
}

const chain = (n: number, delayMs = 30) => Array.from({ length: n }, (_, i) => ({ key: `s${i}`, description: `Step ${i}`, agentType: 'coordination', dependsOn: i ? [`s${i - 1}`] : [], input: { delayMs } }));

const log = async (executionId: string) => (await h.events(executionId)).map((e) => ({ id: e.id, type: e.type }));
const ids = (events: StreamEvent[]) => events.filter((e) => e.type !== 'state').map((e) => ({ id: e.id, type: e.type }));
const auth = () => ({ authorization: `Bearer ${token}` });
const streamUrl = (base: string, id: string, query = '') => `${base}/api/executions/${id}/stream${query}`;

describe('the execution stream', () => {
  it('gives a client connected from the start the state, then every event in order, ending with the final one (SSE and WebSocket)', async () => {
    const strategyId = await strategy(chain(5));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const [sse, ws] = await Promise.all([
      readSse(streamUrl(webA.url, execution.id, '?lastEventId=0'), auth()),
      readWs(streamUrl(webA.url, execution.id, '?after=0').replace('http', 'ws'), auth()),
    ]);
    const expected = await log(execution.id);
    for (const received of [sse, ws]) {
      expect(received.events[0]?.type).toBe('state');
      expect(ids(received.events)).toEqual(expected);
      expect(received.events.at(-1)?.type).toBe('execution-completed');
      for (const event of received.events) {
        expect(Object.keys(event).sort()).toEqual(['data', 'executionId', 'id', 'timestamp', 'type']);
        expect(event.executionId).toBe(execution.id);
      }
    }
    expect(ws.closeCode).toBe(1000);
    const completed = sse.events.find((e) => e.type === 'task-completed');
    expect(completed?.data.taskId).toMatch(/^task_/);
    // The state message is the status endpoint's body.
    const state = sse.events[0]!.data as { execution: unknown; health: unknown; tasks: unknown[]; metrics: unknown };
    expect(Object.keys(state).sort()).toEqual(['execution', 'health', 'metrics', 'tasks']);
  });

  it('resumes after a dropped connection with no gap and no duplicate (Last-Event-ID and ?after=)', async () => {
    const strategyId = await strategy(chain(8, 60));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const first = await readSse(streamUrl(webA.url, execution.id, '?lastEventId=0'), auth(), { stopAfter: (events) => events.filter((e) => e.type === 'task-completed').length >= 2 });
    const lastSeen = first.events.at(-1)!.id;
    await new Promise((r) => setTimeout(r, 150)); // events keep coming while disconnected
    const second = await readSse(streamUrl(webB.url, execution.id), { ...auth(), 'last-event-id': String(lastSeen) });
    const received = [...ids(first.events), ...ids(second.events)];
    expect(received).toEqual(await log(execution.id));

    const viaWs = await readWs(streamUrl(webB.url, execution.id, `?after=${lastSeen}`).replace('http', 'ws'), auth());
    expect([...ids(first.events), ...ids(viaWs.events)]).toEqual(await log(execution.id));
  });

  it('delivers every event of a worker to clients of two web processes', async () => {
    const strategyId = await strategy(chain(4));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const [a, b] = await Promise.all([readSse(streamUrl(webA.url, execution.id, '?lastEventId=0'), auth()), readSse(streamUrl(webB.url, execution.id, '?lastEventId=0'), auth())]);
    const expected = await log(execution.id);
    expect(ids(a.events)).toEqual(expected);
    expect(ids(b.events)).toEqual(expected);
  });

  it('loses nothing when the web processes lose their database connections mid-run', async () => {
    const strategyId = await strategy(chain(10, 80));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const reading = Promise.all([readSse(streamUrl(webA.url, execution.id), auth()), readWs(streamUrl(webB.url, execution.id).replace('http', 'ws'), auth())]);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await h.database.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'strata-web%'`;
    }
    const [sse, ws] = await reading;
    const expected = await log(execution.id);
    // Live from connect: each received the log from its state's id on, in order, ending with the final event.
    for (const received of [sse, ws]) {
      const from = received.events[0]!.id;
      expect(ids(received.events)).toEqual(expected.filter((e) => e.id > from));
      expect(FINAL.has(received.events.at(-1)!.type)).toBe(true);
    }
  });

  it('ends a failed execution with the error event', async () => {
    const strategyId = await strategy([{ key: 'mail', description: 'Mail', agentType: 'analysis', maxRetries: 0, input: { fields: ['n'] } }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const sse = await readSse(streamUrl(webA.url, execution.id, '?lastEventId=0'), auth());
    expect(sse.events.at(-1)).toMatchObject({ type: 'error', data: { status: 'failed', error: 'Task "mail" failed: mail server said no' } });
    // A late client of a finished execution gets the state and the final event, then the end.
    const late = await readSse(streamUrl(webA.url, execution.id), auth());
    expect(late.events.map((e) => e.type)).toEqual(['state', 'error']);
  });

  it('is also a tRPC subscription whose tracked ids resume', async () => {
    const { createStrataClient } = await import('@strata/client');
    const { EventSource } = await import('eventsource');
    const client = createStrataClient({ baseUrl: webB.url, token, EventSource: EventSource as unknown as typeof globalThis.EventSource });
    const strategyId = await strategy(chain(3));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const received = await new Promise<{ id: number; type: string }[]>((resolve, reject) => {
      const events: { id: number; type: string }[] = [];
      const subscription = client.executions.stream.subscribe(
        { id: execution.id, lastEventId: 0 },
        {
          onData: (tracked) => {
            const event = tracked.data;
            events.push({ id: event.id, type: event.type });
            if (FINAL.has(event.type)) {
              subscription.unsubscribe();
              resolve(events);
            }
          },
          onError: reject,
        },
      );
    });
    expect(received[0]?.type).toBe('state');
    expect(received.slice(1)).toEqual(await log(execution.id));
  });

  it('refuses without credentials (401), an outsider (403) and an unknown execution (404) on both transports', async () => {
    const strategyId = await strategy(chain(1));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    const outsider = (await (await fetch(`${webA.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'outside@example.com', password: 'not a member here' }) })).json()).token;
    const cases: [string, Record<string, string>, number][] = [
      [execution.id, {}, 401],
      [execution.id, { authorization: `Bearer ${outsider}` }, 403],
      ['exec_0_missing', auth(), 404],
    ];
    for (const [id, headers, status] of cases) {
      const sse = await readSse(streamUrl(webA.url, id), headers);
      expect(sse.status).toBe(status);
      expect(sse.body).toEqual({ error: { 401: 'Unauthorized', 403: 'Access denied', 404: 'Execution not found' }[status] });
      expect((await readWs(streamUrl(webA.url, id).replace('http', 'ws'), headers)).status).toBe(status);
    }
  });
});
