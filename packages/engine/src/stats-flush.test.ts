import { describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { flushOwedStats } from './stats-flush.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, keyedGates, until } from './testing.ts';

/** Issue 11: the coalesced health/metrics pair is always followed by one that reflects the latest counts. */
let h: EngineHarness;
const gates = keyedGates();
const gate = gates.gate;

useEngineHarness(async (created) => {
  h = created;
  h.registry.register('content', async ({ task }) => {
    await gate(`${task.executionId}:${task.key}`).promise;
    return { ok: task.key };
  });
});

const lastOf = async (executionId: string, type: string) => (await h.events(executionId)).filter((e) => e.type === type).at(-1)?.data;
const completedEvent = (executionId: string, taskKey: string) => async () => {
  const [row] = await h.database.sql<{ n: number }[]>`
    select count(*)::int as n from execution_events v join tasks t on t.id = v.data->>'taskId'
    where v.execution_id = ${executionId} and v.type = 'task-completed' and t.key = ${taskKey}`;
  return (row?.n ?? 0) > 0;
};

async function threeTasks() {
  const ws = await h.workspace();
  const strategyId = await h.strategy(
    ws,
    ['a', 'b', 'c'].map((key) => ({ key, description: key, agentType: 'content' })),
  );
  const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
  await until('all three running', async () => {
    const [row] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from tasks where execution_id = ${execution.id} and status = 'in_progress'`;
    return row?.n === 3;
  });
  return execution.id;
}

describe('health/metrics flush', () => {
  it('a task finished inside the coalescing window leaves the pair stale; the flush emits one that reflects it, once', async () => {
    // No timer flush in this worker: the test drives the flush itself.
    await h.startWorker({ statsFlushIntervalMs: 3_600_000 });
    const id = await threeTasks();
    gate(`${id}:a`).resolve();
    await until('a completed', completedEvent(id, 'a'));
    expect(await lastOf(id, 'metrics-update')).toMatchObject({ completedTasks: 1 });
    // A pair was just emitted: the next completion falls inside the one-second window.
    await h.database.sql`update executions set stats_emitted_at = now() + interval '1 hour' where id = ${id}`;
    gate(`${id}:b`).resolve();
    await until('b completed', completedEvent(id, 'b'));
    // Coalesced: without a flush, watchers would keep "1 completed" while c runs.
    expect(await lastOf(id, 'metrics-update')).toMatchObject({ completedTasks: 1 });
    expect(await flushOwedStats(h.ctx, { executionIds: [id] })).toEqual([]); // still inside the window
    await h.database.sql`update executions set stats_emitted_at = now() - interval '2 seconds' where id = ${id}`;

    expect(await flushOwedStats(h.ctx, { executionIds: [id] })).toEqual([id]);
    const events = await h.events(id);
    expect(events.at(-2)).toMatchObject({ type: 'health-update', data: { completionRate: 0.6667, issues: [] } });
    expect(events.at(-1)).toMatchObject({ type: 'metrics-update', data: { completedTasks: 2, inProgressTasks: 1, totalTasks: 3 } });
    // Nothing changed since: nothing is owed, however old the pair gets.
    await h.database.sql`update executions set stats_emitted_at = now() - interval '2 seconds' where id = ${id}`;
    expect(await flushOwedStats(h.ctx, { executionIds: [id] })).toEqual([]);

    gate(`${id}:c`).resolve();
    await h.waitForStatus(id, ['completed']);
    const tail = (await h.events(id)).slice(-3);
    expect(tail.map((e) => e.type)).toEqual(['health-update', 'metrics-update', 'execution-completed']);
    expect(tail[1]?.data).toMatchObject({ completedTasks: 3, inProgressTasks: 0, pendingTasks: 0 });
  });

  it('the worker flushes by itself: the last pair catches up with a coalesced completion while another task runs', async () => {
    await h.startWorker({ statsFlushIntervalMs: 50 });
    const id = await threeTasks();
    gate(`${id}:a`).resolve();
    await until('a completed', completedEvent(id, 'a'));
    await h.database.sql`update executions set stats_emitted_at = now() where id = ${id}`;
    gate(`${id}:b`).resolve();
    // c is still running, so nothing else would emit a pair: only the flush can.
    const caughtUp = await until('a pair reflecting b', async () => {
      const metrics = await lastOf(id, 'metrics-update');
      return metrics?.completedTasks === 2 ? metrics : undefined;
    });
    expect(caughtUp).toMatchObject({ completedTasks: 2, inProgressTasks: 1 });
    expect((await h.events(id)).at(-1)?.type).toBe('metrics-update');
    gate(`${id}:c`).resolve();
    await h.waitForStatus(id, ['completed']);
  });
});
