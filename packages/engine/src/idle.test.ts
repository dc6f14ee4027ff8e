import { AGENT_TYPES } from '@strata/db';
import { describe, expect, it } from 'vitest';
import { useEngineHarness } from './test-harness.ts';
import type { EngineHarness } from './testing.ts';

/** Issue 12: an idle worker does not poll each queue once per slot per second. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

const committed = async () => {
  await h.database.sql`select pg_stat_clear_snapshot()`;
  const [row] = await h.database.sql<{ n: string }[]>`select xact_commit as n from pg_stat_database where datname = current_database()`;
  return Number(row!.n);
};

describe('an idle worker', () => {
  it('fetches from one idle slot per agent queue each second, not from every slot', async () => {
    // 20 slots per agent queue: polling every slot each second would commit 20 transactions a second per queue.
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 20 }, sweepIntervalMs: 5000 });
    await new Promise((r) => setTimeout(r, 1500));
    const before = await committed();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const perSecond = (await committed()) - before;
    const seconds = (Date.now() - started) / 1000;
    // A few fetches per queue a second (the idle slot's due-job poll and pg-boss's own), the stats
    // flush, the sweep, pg-boss's upkeep and this test's reads: well under a quarter of that.
    expect(perSecond / seconds).toBeLessThan(AGENT_TYPES.length * 5);
    await worker.stop();
  });
});
