import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { startExecution } from '../lifecycle.ts';
import { useEngineHarness } from '../test-harness.ts';
import type { EngineHarness } from '../testing.ts';
import type { L4ItemInput } from './schema.ts';
import { createStrategy } from './store.ts';

/**
 * Property (issue 10, item 10): every strategy that can be stored can be started. Random
 * strategies, some valid, some with the mistakes authors make (a dependency listed twice, on
 * itself, on a missing or later item forming a cycle, an unknown agent type); each is either
 * refused at creation with a VALIDATION error or stored, and then it starts. No worker runs.
 */
let h: EngineHarness;
let ws: string;

useEngineHarness(async (harness) => {
  h = harness;
  ws = await harness.workspace();
});

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination'];
const PRIORITIES = ['high', 'medium', 'low'] as const;

function generate(seed: number): L4ItemInput[] {
  const rnd = random(seed);
  const pick = <T,>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  const count = rnd() < 0.1 ? 0 : 1 + Math.floor(rnd() * 25);
  const keys = Array.from({ length: count }, (_, i) => `k${i}`);
  const items = keys.map((key, i) => {
    const dependsOn: string[] = [];
    // A DAG: dependencies on earlier keys only ...
    for (let j = 0; j < i; j++) if (rnd() < 0.15) dependsOn.push(keys[j]!);
    // ... and now and then the mistakes.
    if (dependsOn.length > 0 && rnd() < 0.1) dependsOn.push(pick(dependsOn));
    if (rnd() < 0.02) dependsOn.push(key);
    if (i < count - 1 && rnd() < 0.02) dependsOn.push(keys[i + 1 + Math.floor(rnd() * (count - i - 1))]!);
    if (rnd() < 0.01) dependsOn.push('ghost');
    return {
      key,
      description: `Item ${key}`,
      agentType: rnd() < 0.01 ? 'telepathy' : pick(TYPES),
      priority: pick(PRIORITIES),
      dependsOn,
      input: {},
      maxRetries: Math.floor(rnd() * 4),
      timeoutSeconds: 1 + Math.floor(rnd() * 600),
    };
  });
  // Stored in any order: a dependency may come later in the list than its dependant.
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('every strategy that can be stored can be started', () => {
  it('holds for 150 random strategies', async () => {
    let stored = 0;
    let refused = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const items = generate(seed);
      let strategyId: string;
      try {
        strategyId = (await createStrategy(h.database.db, { workspaceId: ws, name: `Random ${seed}`, items })).id;
      } catch (error) {
        expect(error, `seed ${seed}`).toBeInstanceOf(EngineError);
        expect((error as EngineError).code, `seed ${seed}: ${(error as Error).message}`).toBe('VALIDATION');
        refused += 1;
        continue;
      }
      stored += 1;
      const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws }).catch((error: Error) => {
        throw new Error(`seed ${seed}: stored but not startable: ${error.message}`);
      });
      const [row] = await h.database.sql<{ tasks: number; edges: number }[]>`
        select (select count(*)::int from tasks where execution_id = ${execution.id}) as tasks,
          (select count(*)::int from task_dependencies d join tasks t on t.id = d.task_id where t.execution_id = ${execution.id}) as edges`;
      expect(row, `seed ${seed}`).toEqual({ tasks: items.length, edges: items.reduce((n, item) => n + (item.dependsOn?.length ?? 0), 0) });
    }
    // The generator exercises both sides.
    expect(stored).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(10);
  });

  it('refuses a dependency listed twice at creation, naming the item', async () => {
    const items: L4ItemInput[] = [
      { key: 'a', description: 'A', agentType: 'email' },
      { key: 'b', description: 'B', agentType: 'email', dependsOn: ['a', 'a'] },
    ];
    await expect(createStrategy(h.database.db, { workspaceId: ws, name: 'Twice', items })).rejects.toThrow('Item "b": duplicate dependency "a"');
  });
});
