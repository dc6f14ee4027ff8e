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
    // 6 agent queues x 20 slots: polling every slot each second would commit ~120 transactions a second.
    const worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 20 }, sweepIntervalMs: 5000 });
    await new Promise((r) => setTimeout(r, 1500));
    const before = await committed();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const perSecond = (await committed()) - before;
    const seconds = (Date.now() - started) / 1000;
    // Six due-job polls a second, the stats flush, the sweep, pg-boss's own upkeep and this test's reads.
    expect(perSecond / seconds).toBeLessThan(30);
    await worker.stop();
  });
});
