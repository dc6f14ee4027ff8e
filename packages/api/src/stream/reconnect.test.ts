import { appendEvents, blockAt, clearHooks, startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventHub, type WireEvent } from './hub.ts';

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
