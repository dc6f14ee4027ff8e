import { appendEvents } from '@strata/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../context.ts';
import { appRouter } from '../root.ts';
import { createStreamTestbed, type StreamTestbed } from '../stream/test-clients.ts';
import { MAX_QUEUED_BYTES } from './executions.ts';

/** The tRPC stream's queue is bounded by bytes, as SSE's and WebSocket's are. */
let bed: StreamTestbed;

beforeAll(async () => {
  bed = await createStreamTestbed({ maxPerCredential: 20 });
});
afterAll(async () => {
  await bed?.close();
});

describe('executions.stream (tRPC)', () => {
  it('drops a subscriber that stops reading once its queue passes the byte bound, after handing over what it queued', async () => {
    const w = await bed.watcher();
    const ctx = await createContext({ ...bed.h.deps, hub: bed.hub }, new Headers({ authorization: `Bearer ${w.token}` }));
    const iterable = await appRouter.createCaller(ctx).executions.stream({ id: w.executionId });
    const iterator = iterable[Symbol.asyncIterator]();
    expect(((await iterator.next()).value as unknown as [string, { type: string }])[1].type).toBe('state');
    const before = bed.hub.subscriberCount;

    // Six events of 1 MiB each, in separate transactions (separate deliveries), none read.
    const big = 'x'.repeat(1024 * 1024);
    for (let n = 0; n < 6; n++) await bed.h.database.db.transaction((tx) => appendEvents(tx, [{ executionId: w.executionId, type: 'task-progress', data: { n, big } }]));
    await expect.poll(() => bed.hub.subscriberCount, { timeout: 10_000 }).toBe(before - 1);

    const received: number[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      received.push((next.value as unknown as [string, { data: { n: number } }])[1].data.n);
    }
    // What was queued up to the bound arrives in order; the rest is left for a resume.
    expect(received.length).toBeGreaterThanOrEqual(Math.floor(MAX_QUEUED_BYTES / (1024 * 1024)));
    expect(received.length).toBeLessThan(6);
    expect(received).toEqual(received.map((_, i) => i));
  });
});
