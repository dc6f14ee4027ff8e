import { idempotencyKeys, rateLimits, users } from '@strata/db';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockAt, clearHooks } from '../hooks.ts';
import { createEngineHarness, type EngineHarness } from '../testing.ts';
import { type PruneTask, runDueMaintenance } from './scheduler.ts';
import { pruneIdempotencyKeys, pruneRateLimitWindows } from './windows.ts';

let h: EngineHarness;
beforeAll(async () => {
  h = await createEngineHarness();
});
afterEach(clearHooks);
afterAll(async () => {
  await h?.close();
});

const HOUR = 3_600_000;

describe('prune tasks remove only expired rows', () => {
  it('idempotency keys older than 24 h', async () => {
    const now = new Date('2030-01-02T12:00:00Z');
    await h.database.db.insert(users).values({ id: 'usr_idem', email: 'idem@example.com', passwordHash: 'x', name: 'I' });
    await h.database.db.insert(idempotencyKeys).values([
      { userId: 'usr_idem', key: 'old', requestHash: 'h', createdAt: new Date(now.getTime() - 25 * HOUR) },
      { userId: 'usr_idem', key: 'fresh', requestHash: 'h', createdAt: new Date(now.getTime() - 23 * HOUR) },
    ]);
    expect(await pruneIdempotencyKeys(h.database.db, now)).toBe(1);
    expect((await h.database.db.select().from(idempotencyKeys)).map((k) => k.key)).toEqual(['fresh']);
  });

  it('rate-limit windows older than 10 minutes', async () => {
    const now = new Date('2030-01-02T12:00:00Z');
    const ws = await h.workspace();
    await h.database.db.insert(rateLimits).values([
      { workspaceId: ws, bucket: 'start', windowStart: new Date(now.getTime() - 11 * 60_000), count: 3 },
      { workspaceId: ws, bucket: 'start', windowStart: new Date(now.getTime() - 60_000), count: 1 },
    ]);
    expect(await pruneRateLimitWindows(h.database.db, now)).toBe(1);
    expect((await h.database.db.select().from(rateLimits)).map((r) => r.count)).toEqual([1]);
  });
});

describe('the maintenance schedule', () => {
  const counting = (name: string, everyMs: number) => {
    const runs: Date[] = [];
    const task: PruneTask = { name, everyMs, prune: async (now) => {
        runs.push(now);
        return 0;
      },
    };
    return { task, runs };
  };

  it('runs each task once per period, whichever of two workers passes, even when they interleave', async () => {
    const { task, runs } = counting('interleaved', HOUR);
    const t0 = new Date('2030-02-01T00:00:00Z');
    // Worker A claims the period and is held before it prunes; worker B's pass then claims nothing.
    const held = blockAt('maintenance:claimed', { match: (info) => info.name === 'interleaved', times: 1 });
    const a = runDueMaintenance(h.database.db, [task], t0);
    await held.reached;
    expect(await runDueMaintenance(h.database.db, [task], t0)).toEqual([]);
    expect(runs).toEqual([]);
    held.release();
    expect(await a).toEqual([{ name: 'interleaved', status: 'pruned', removed: 0 }]);
    expect(runs).toEqual([t0]);
    // Within the period nobody runs it again; after it, one does.
    expect(await runDueMaintenance(h.database.db, [task], new Date(t0.getTime() + HOUR - 1))).toEqual([]);
    const [first, second] = await Promise.all([
      runDueMaintenance(h.database.db, [task], new Date(t0.getTime() + HOUR)),
      runDueMaintenance(h.database.db, [task], new Date(t0.getTime() + HOUR)),
    ]);
    expect(first!.length + second!.length).toBe(1);
    expect(runs).toHaveLength(2);
  });

  it('gives a failed run back, so the next pass tries again; tasks keep their own schedules', async () => {
    let fail = true;
    const flaky: PruneTask = {
      name: 'flaky',
      everyMs: HOUR,
      prune: async () => {
        if (fail) throw new Error('database away');
        return 3;
      },
    };
    const { task: other, runs } = counting('other', 5 * 60_000);
    const t0 = new Date('2030-03-01T00:00:00Z');
    const outcomes = await runDueMaintenance(h.database.db, [flaky, other], t0);
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['flaky', 'failed'],
      ['other', 'pruned'],
    ]);
    fail = false;
    const later = new Date(t0.getTime() + 5 * 60_000);
    expect(await runDueMaintenance(h.database.db, [flaky, other], later)).toEqual([
      { name: 'flaky', status: 'pruned', removed: 3 },
      { name: 'other', status: 'pruned', removed: 0 },
    ]);
    expect(runs).toEqual([t0, later]);
  });
});
