import { appendEvents, blockAt, clearHooks, controlExecution, startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatusCache } from '../status-cache.ts';
import { EventHub, type WireEvent } from './hub.ts';
import { openStream, type StreamSink } from './session.ts';

/**
 * Issue 10, item 4: a reconnecting client loses nothing. Each race is forced at a named hook
 * point (no sleeps): the test holds the code there, does the conflicting thing, releases it.
 */
let h: EngineHarness;
let workspaceId: string;
let strategyId: string;

beforeAll(async () => {
  h = await createEngineHarness();
  workspaceId = await h.workspace();
  strategyId = await h.strategy(workspaceId, [{ key: 'a', description: 'A', agentType: 'analysis' }]);
});
afterEach(clearHooks);
afterAll(async () => {
  await h?.close();
});

/** A running execution (no worker: it stays open) whose log holds exactly `count` events; returns their ids. */
async function executionWithEvents(count: number): Promise<{ executionId: string; ids: number[] }> {
  const { id: executionId } = await startExecution(h.ctx, { strategyId, workspaceId });
  const have = (await h.events(executionId)).length;
  const filler = Array.from({ length: count - have }, (_, n) => ({ executionId, type: 'task-progress' as const, data: { n } }));
  await h.database.db.transaction((tx) => appendEvents(tx, filler));
  const ids = (await h.events(executionId)).map((e) => Number(e.id));
  expect(ids).toHaveLength(count);
  return { executionId, ids };
}

/** A hub subscriber that keeps what it was given; `upTo(id)` resolves once it holds that id. */
function collector(hub: EventHub, executionId: string, afterId: number) {
  const got: number[] = [];
  const waiting = new Map<number, () => void>();
  const unsubscribe = hub.subscribe(
    executionId,
    afterId,
    (events: readonly WireEvent[]) => {
      for (const event of events) {
        got.push(event.id);
        waiting.get(event.id)?.();
      }
      return true;
    },
    () => {},
  );
  return {
    got,
    unsubscribe,
    upTo: (id: number) => (got.includes(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve))),
  };
}

describe('the event hub', () => {
  it('serves a subscriber that joins from an older id during an in-flight fetch everything after its own point, once, in order', async () => {
    const { executionId, ids } = await executionWithEvents(12);
    const hub = new EventHub({ db: h.database.db, listenSql: h.database.sql });
    const fetch = blockAt('hub:fetch', { match: (info) => info.executionId === executionId, times: 1 });
    // A viewer stands at the 10th event; its fetch (from the 10th) is held in flight.
    const ahead = collector(hub, executionId, ids[9]!);
    expect((await fetch.reached).from).toBe(ids[9]);
    // A reconnecting client resumes from the 2nd while that fetch is in flight.
    const behind = collector(hub, executionId, ids[1]!);
    fetch.release();
    await Promise.all([ahead.upTo(ids[11]!), behind.upTo(ids[11]!)]);
    expect(ahead.got).toEqual(ids.slice(10));
    expect(behind.got).toEqual(ids.slice(2));
    ahead.unsubscribe();
    behind.unsubscribe();
    await hub.stop();
  });
});

type Message = { id: number; type: string; data: Record<string, unknown> & { execution?: { status: string } } };

/** A stream sink that keeps the messages; `count(n)` resolves once it holds n of them. */
function recordingSink() {
  const messages: Message[] = [];
  let wanted: { n: number; resolve: () => void } | undefined;
  const sink: StreamSink = {
    transport: 'sse',
    send(events) {
      for (const event of events) messages.push(JSON.parse(event.json) as Message);
      if (wanted && messages.length >= wanted.n) wanted.resolve();
      return true;
    },
    close() {},
  };
  const count = (n: number) =>
    messages.length >= n
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wanted = { n, resolve };
        });
  return { sink, messages, count };
}

describe("a stream's first state", () => {
  it('is exactly the state at the id it carries, even when an event lands between reading the id and the status', async () => {
    const { id: executionId } = await startExecution(h.ctx, { strategyId, workspaceId });
    const hub = new EventHub({ db: h.database.db, listenSql: h.database.sql });
    await hub.start();
    const { sink, messages, count } = recordingSink();
    const hold = blockAt('stream:before-state', { match: (info) => info.executionId === executionId });
    const opening = openStream({ db: h.database.db, hub, statusCache: new StatusCache() }, executionId, null, [], sink);
    await hold.reached;
    await controlExecution(h.ctx, executionId, 'pause');
    const pausedId = Number((await h.events(executionId)).at(-1)!.id);
    hold.release();
    const finish = await opening;
    expect(messages[0]).toMatchObject({ type: 'state', id: pausedId });
    expect(messages[0]!.data.execution!.status).toBe('paused');
    // The stream goes on from the state's id: the pause it already shows is not sent again.
    await controlExecution(h.ctx, executionId, 'resume');
    await count(2);
    expect(messages[1]!.type).toBe('execution-resumed');
    expect(messages.slice(1).every((m) => m.id > pausedId)).toBe(true);
    finish();
    await hub.stop();
  });
});
