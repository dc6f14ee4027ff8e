import { SEED_TASK_FIELDS, TASK_INCLUDE_FIELDS } from '@strata/engine/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreamTestbed, openSse, openWs, type StreamTestbed } from './test-clients.ts';

/** `?include=` on the stream: the `state` message's tasks, as the status endpoint's. */
let bed: StreamTestbed;

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: 50 });
});
afterAll(async () => {
  await bed?.close();
});

const taskKeys = (data: unknown) => ((data as { tasks: Record<string, unknown>[] }).tasks ?? []).map((task) => Object.keys(task).sort());
const DETAIL_AND_RESULTS = [...SEED_TASK_FIELDS, ...TASK_INCLUDE_FIELDS.detail, ...TASK_INCLUDE_FIELDS.results].sort();

describe('the state message of a stream', () => {
  it("carries the seed's task fields by default and what include asks for, over SSE and WebSocket", async () => {
    const w = await bed.watcher();
    const auth = { authorization: `Bearer ${w.token}` };
    const sse = await openSse(w.stream(), { ...auth, accept: 'text/event-stream' });
    await sse.ready;
    expect(sse.frames[0]!.event).toBe('state');
    expect(taskKeys(sse.frames[0]!.data.data)).toEqual([[...SEED_TASK_FIELDS].sort()]);
    sse.abort();

    const detailed = await openSse(`${w.stream()}?include=detail`, { ...auth, accept: 'text/event-stream' });
    await detailed.ready;
    expect(taskKeys(detailed.frames[0]!.data.data)).toEqual([[...SEED_TASK_FIELDS, ...TASK_INCLUDE_FIELDS.detail].sort()]);
    detailed.abort();

    const ws = await openWs(`${w.stream()}?include=results,detail`, auth);
    expect(ws.status).toBe(101);
    expect(ws.messages[0]!.type).toBe('state');
    expect(taskKeys(ws.messages[0]!.data)).toEqual([DETAIL_AND_RESULTS]);
    ws.socket!.close();

    const plain = await openWs(w.stream(), auth);
    expect(taskKeys(plain.messages[0]!.data)).toEqual([[...SEED_TASK_FIELDS].sort()]);
    plain.socket!.close();
  });

  it('refuses an unknown include with 400 naming the parameter, after credentials and before the execution', async () => {
    const w = await bed.watcher();
    const auth = { authorization: `Bearer ${w.token}` };
    const sse = await openSse(`${w.stream()}?include=everything`, { ...auth, accept: 'text/event-stream' });
    expect(sse.status).toBe(400);
    expect(sse.body).toEqual({ error: 'include[0]: "everything" is not one of detail, results' });
    const ws = await openWs(`${w.stream()}?include=detail,result`, auth);
    expect(ws.status).toBe(400);
    expect(ws.body).toEqual({ error: 'include[1]: "result" is not one of detail, results' });
    expect((await openSse(`${w.stream()}?include=everything`, { accept: 'text/event-stream' })).status).toBe(401);
    expect((await openWs(`${w.stream('exec_123')}?include=everything`, auth)).status).toBe(400);
  });
});
