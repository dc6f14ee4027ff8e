import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { readQueueDepths } from './queue-depth.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

/** No worker runs here, so every queued job stays where the start put it. */
let h: EngineHarness;
let ws: string;

beforeAll(async () => {
  h = await createEngineHarness();
  ws = await h.workspace();
});
afterAll(async () => {
  await h?.close();
});

describe('readQueueDepths', () => {
  it('answers zero for every agent type when nothing waits', async () => {
    const depths = await readQueueDepths(h.ctx.db);
    expect(depths.map((d) => d.agentType).sort()).toEqual([...new Set(depths.map((d) => d.agentType))].sort());
    expect(depths.every((d) => d.ready === 0 && d.delayed === 0 && d.active === 0 && d.oldestReadyAgeSeconds === 0)).toBe(true);
  });

  it('counts the ready jobs of each queue and the age of the oldest', async () => {
    const strategyId = await h.strategy(ws, [
      { key: 'a', description: 'A', agentType: 'content' },
      { key: 'b', description: 'B', agentType: 'content' },
      { key: 'c', description: 'C', agentType: 'research' },
      { key: 'd', description: 'D', agentType: 'email', dependsOn: ['a'] },
    ]);
    await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const depths = new Map((await readQueueDepths(h.ctx.db)).map((d) => [d.agentType, d]));
    expect(depths.get('content')?.ready).toBe(2);
    expect(depths.get('research')?.ready).toBe(1);
    expect(depths.get('email')?.ready).toBe(0);
    expect(depths.get('content')?.oldestReadyAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(depths.get('content')?.oldestReadyAgeSeconds).toBeLessThan(600);
  });
});
