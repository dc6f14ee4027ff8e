import { describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { refreshStalledHealth } from './recovery.ts';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';

/**
 * Waiting is not stalling (issue 10, item 11). Task states are set with SQL (no worker runs):
 * one task started an hour ago with a 60 s timeout and now in a 30-day wait, and a control
 * execution whose task is stalled for real.
 */
let h: EngineHarness;
let ws: string;

useEngineHarness(async (harness) => {
  h = harness;
  ws = await harness.workspace();
});

async function runningTask(waitDays: number | null): Promise<string> {
  const strategyId = await h.strategy(ws, [{ key: 'only', description: 'Long job', agentType: 'coordination', timeoutSeconds: 60 }]);
  const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
  await h.database.sql`
    update tasks set status = 'in_progress', started_at = now() - interval '1 hour',
      wake_at = case when ${waitDays}::int is null then null else now() + ${waitDays}::int * interval '1 day' end
    where execution_id = ${execution.id}`;
  return execution.id;
}

const statsEvents = async (executionId: string) => (await h.events(executionId)).filter((e) => e.type === 'health-update' || e.type === 'metrics-update');
/** Plays 31 s passing since the last health/metrics pair. */
const age = (ids: string[]) => h.database.sql`update executions set stats_emitted_at = now() - interval '31 seconds' where id = any(${ids})`;

describe('stalled-health refresh', () => {
  it('never counts a waiting task as stalled, however long it waits', async () => {
    const waiting = await runningTask(30);
    const stalled = await runningTask(null);
    const before = { waiting: (await statsEvents(waiting)).length, stalled: (await statsEvents(stalled)).length };

    for (let round = 1; round <= 3; round++) {
      await age([waiting, stalled]);
      await refreshStalledHealth(h.ctx);
      expect((await statsEvents(waiting)).length).toBe(before.waiting);
      // The control: a task past its timeout without a wait gets its pair each time.
      expect((await statsEvents(stalled)).length).toBe(before.stalled + 2 * round);
    }
    const health = (await statsEvents(stalled)).filter((e) => e.type === 'health-update').at(-1);
    expect((health?.data as { issues?: string[] } | undefined)?.issues).toContain('1 task in progress past their timeout');
  });
});
