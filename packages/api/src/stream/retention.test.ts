import { controlExecution, getExecutionStatus, pruneExecutionEvents, startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusCache } from '../status-cache.ts';
import { EventHub } from './hub.ts';
import { openStream, type StreamSink } from './session.ts';

/**
 * Issue 15, retention: the event log of executions finished more than RETENTION_DAYS ago goes,
 * but their final state, counts, health, skip reasons and final event stay, and their stream
 * still sends `state` and the final event. An explicit `now` stands in for the passing days.
 */
let h: EngineHarness;
let hub: EventHub;
let workspaceId: string;
const DAY = 24 * 3_600_000;
const hold = Promise.withResolvers<void>();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 10, maxMs: 10 } });
  h.registry.register('email', ({ task }) => {
    if (task.input.fail) throw new Error(`cannot send ${task.key}`);
    return { sent: task.key };
  });
  // Runs until the test ends: its execution stays running.
  h.registry.register('scheduling', () => hold.promise);
  await h.startWorker();
  workspaceId = await h.workspace();
  hub = new EventHub({ db: h.database.db, listenSql: h.database.sql });
  await hub.start();
});
afterAll(async () => {
  hold.resolve();
  await hub?.stop();
  await h?.close();
});

/** An execution run to its end (failed: its dependent skipped), then dated as finished `daysAgo` days before `now`. */
async function finished(now: Date, daysAgo: number, fail = false): Promise<string> {
  const strategyId = await h.strategy(workspaceId, [
    { key: 'a', description: 'a', agentType: 'email', maxRetries: 1, ...(fail ? { input: { fail: true } } : {}) },
    { key: 'b', description: 'b', agentType: 'email', dependsOn: ['a'] },
  ]);
  const { id } = await startExecution(h.ctx, { strategyId, workspaceId });
  await h.waitForStatus(id, [fail ? 'failed' : 'completed']);
  await h.database.sql`update executions set completed_at = ${new Date(now.getTime() - daysAgo * DAY).toISOString()}::timestamptz where id = ${id}`;
  return id;
}

/** Everything a stream sends until it closes. */
async function streamed(executionId: string, after: number | null): Promise<{ id: number; type: string }[]> {
  const messages: { id: number; type: string }[] = [];
  const closed = Promise.withResolvers<void>();
  const sink: StreamSink = {
    transport: 'sse',
    send(events) {
      for (const event of events) messages.push(JSON.parse(event.json) as { id: number; type: string });
      return true;
    },
    close: () => closed.resolve(),
  };
  await openStream({ db: h.database.db, hub, statusCache: new StatusCache() }, executionId, after, [], sink);
  await closed.promise;
  return messages;
}

describe('retention of finished executions', () => {
  it('removes exactly the old finished logs but their final event; keeps state, counts, health, skip reasons; the stream sends state and the final event', async () => {
    const now = new Date(Date.now() + 60 * DAY);
    const oldFailed = await finished(now, 31, true);
    const oldCompleted = await finished(now, 45);
    const recent = await finished(now, 29);
    // A paused execution that started long ago is never pruned, nor is a running one.
    const pausedStrategy = await h.strategy(workspaceId, [{ key: 'p', description: 'p', agentType: 'scheduling' }]);
    const paused = (await startExecution(h.ctx, { strategyId: pausedStrategy, workspaceId })).id;
    await controlExecution(h.ctx, paused, 'pause');
    const running = (await startExecution(h.ctx, { strategyId: pausedStrategy, workspaceId })).id;
    await h.database.sql`update executions set started_at = ${new Date(now.getTime() - 90 * DAY).toISOString()}::timestamptz where id in (${paused}, ${running})`;

    const logs = new Map<string, { id: number; type: string }[]>();
    for (const id of [oldFailed, oldCompleted, recent, paused, running]) logs.set(id, await h.events(id));
    const before = new Map<string, Awaited<ReturnType<typeof getExecutionStatus>>>();
    for (const id of [oldFailed, oldCompleted]) before.set(id, await getExecutionStatus(h.database.db, id));

    const removed = await pruneExecutionEvents(h.database.db, { retentionDays: 30, now });

    for (const [id, finalType] of [
      [oldFailed, 'error'],
      [oldCompleted, 'execution-completed'],
    ] as const) {
      const kept = await h.events(id);
      expect(kept).toEqual([logs.get(id)!.at(-1)]);
      expect(kept[0]!.type).toBe(finalType);
      // The status body is the same (health and metrics from the tasks, skip reasons from the tasks now).
      const after = await getExecutionStatus(h.database.db, id);
      expect(after.execution).toEqual(before.get(id)!.execution);
      expect(after.tasks).toEqual(before.get(id)!.tasks);
      expect({ ...after.health, lastChecked: null }).toEqual({ ...before.get(id)!.health, lastChecked: null });
    }
    const [failedB] = (await getExecutionStatus(h.database.db, oldFailed)).tasks.filter((t) => t.key === 'b');
    expect(failedB).toMatchObject({ status: 'skipped', skip_reason: 'execution-failed' });
    // Untouched (a running one may have logged more meanwhile, never less).
    for (const id of [recent, paused, running]) expect(await h.events(id)).toEqual(expect.arrayContaining(logs.get(id)!));
    expect(removed).toBe(logs.get(oldFailed)!.length - 1 + logs.get(oldCompleted)!.length - 1);

    // The stream of a pruned execution: state (its id the final event's), then the final event, then it closes;
    // a resume point from before the pruning (or 0) gets the same, one past the final event only the state.
    const finalId = logs.get(oldFailed)!.at(-1)!.id;
    for (const after of [null, 0, logs.get(oldFailed)![1]!.id]) {
      const messages = await streamed(oldFailed, after);
      expect(messages.map((m) => [m.type, m.id])).toEqual([
        ['state', finalId],
        ['error', finalId],
      ]);
    }

    // Done once: a second pass finds nothing more.
    expect(await pruneExecutionEvents(h.database.db, { retentionDays: 30, now })).toBe(0);
    // 0 days keeps everything.
    expect(await pruneExecutionEvents(h.database.db, { retentionDays: 0, now: new Date(now.getTime() + 1000 * DAY) })).toBe(0);
  });
});
