import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution } from './lifecycle.ts';
import { formatBytes } from './limits.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

const MiB = 1024 * 1024;
let h: EngineHarness;
/** Attempts per task key: a refused result must not be retried. */
const runs = new Map<string, number>();

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 50, maxMs: 100 } });
  // Returns `bytes` bytes of JSON: a string of bytes - 2 characters.
  h.registry.register('content', ({ task }) => {
    runs.set(task.key, (runs.get(task.key) ?? 0) + 1);
    return 'x'.repeat(Number(task.input.bytes) - 2);
  });
  h.registry.register('research', async ({ task, progress }) => {
    runs.set(task.key, (runs.get(task.key) ?? 0) + 1);
    await progress({ note: 'y'.repeat(Number(task.input.progressChars)) });
    return { ok: true };
  });
  // The default cap (TASK_RESULT_MAX_BYTES' default), as apps/worker passes it when unset.
  await h.startWorker();
});
afterAll(async () => {
  await h?.close();
});

async function runOne(key: string, agentType: string, input: Record<string, unknown>) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, [{ key, description: key, agentType, input, maxRetries: 3 }]);
  const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
  const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
  return { done, task: done.tasks[0]!, events: await h.events(execution.id) };
}

describe('task result cap (TASK_RESULT_MAX_BYTES)', () => {
  it('stores a result at the cap', async () => {
    const { task } = await runOne('at-cap', 'content', { bytes: MiB });
    expect(task.status).toBe('completed');
    const [row] = await h.database.sql<{ n: number }[]>`select octet_length(result::text)::int as n from tasks where id = ${task.id}`;
    expect(row?.n).toBe(MiB);
  });

  it('fails a bigger result at once, without retry, saying why', async () => {
    const { done, task, events } = await runOne('too-big', 'content', { bytes: Math.round(1.3 * MiB) });
    expect(done.execution.status).toBe('failed');
    expect(task).toMatchObject({ status: 'failed', retry_count: 0, result: null });
    expect(task.error).toBe('Result too large: 1.3 MiB (limit 1 MiB, TASK_RESULT_MAX_BYTES)');
    expect(runs.get('too-big')).toBe(1);
    const failed = events.filter((e) => e.type === 'task-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toMatchObject({ willRetry: false, error: 'Result too large: 1.3 MiB (limit 1 MiB, TASK_RESULT_MAX_BYTES)' });
  });

  it('counts bytes, not characters, and shows exact counts where rounding would hide the excess', async () => {
    // 'é' is two bytes of UTF-8: MiB / 2 characters of it are just over the cap.
    h.registry.register('email', () => 'é'.repeat(MiB / 2));
    const { task } = await runOne('multibyte', 'email', {});
    expect(task.error).toBe(`Result too large: ${MiB + 2} bytes (limit ${MiB} bytes, TASK_RESULT_MAX_BYTES)`);
  });
});

describe('results that are not JSON', () => {
  it('fail without retry instead of being retried', async () => {
    h.registry.register('scheduling', ({ task }) => {
      runs.set(task.key, (runs.get(task.key) ?? 0) + 1);
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      return cycle;
    });
    const { task } = await runOne('cyclic', 'scheduling', {});
    expect(task).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(task.error).toMatch(/^Result is not JSON-serialisable: .*circular/i);
    expect(runs.get('cyclic')).toBe(1);
  });
});

describe('progress report cap', () => {
  it('refuses a progress report over 64 KiB: nothing is stored or streamed, the attempt fails without retry', async () => {
    const { task, events } = await runOne('big-progress', 'research', { progressChars: 70 * 1024 });
    expect(task).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(task.error).toMatch(/^Progress report too large: 70 KiB \(limit 64 KiB\)$/);
    expect(runs.get('big-progress')).toBe(1);
    expect(JSON.stringify(events).length).toBeLessThan(64 * 1024);
  });

  it('passes a progress report under the cap', async () => {
    const { task, events } = await runOne('small-progress', 'research', { progressChars: 1000 });
    expect(task.status).toBe('completed');
    expect(events.some((e) => e.type === 'task-progress' && (e.data.progress as { note?: string } | undefined)?.note?.length === 1000)).toBe(true);
  });
});

describe('formatBytes', () => {
  it('reads like a person would write it', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(MiB), formatBytes(1.3 * MiB)]).toEqual(['512 B', '1.5 KiB', '1 MiB', '1.3 MiB']);
  });
});

describe('dependency results per task', () => {
  let small: EngineHarness;
  const fanIns: string[] = [];
  beforeAll(async () => {
    small = await createEngineHarness();
    small.registry.register('content', () => 'x'.repeat(20_000 - 2));
    small.registry.register('coordination', ({ task, dependencies }) => {
      fanIns.push(task.key);
      return { bytes: dependencies.map((d) => JSON.stringify(d.result).length) };
    });
    await small.startWorker({ dependenciesMaxBytes: 50_000 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('refuses, without loading them, dependencies whose results together pass the cap', async () => {
    const ws = await small.workspace();
    const leaf = (key: string) => ({ key, description: key, agentType: 'content' });
    const fanIn = (key: string, dependsOn: string[]) => ({ key, description: key, agentType: 'coordination', dependsOn });
    const strategyId = await small.strategy(ws, [leaf('a1'), leaf('a2'), leaf('a3'), fanIn('two', ['a1', 'a2']), fanIn('three', ['a1', 'a2', 'a3'])], { onTaskFailure: 'continue' });
    const execution = await startExecution(small.ctx, { strategyId, workspaceId: ws });
    const done = await small.waitForStatus(execution.id, ['completed', 'failed']);
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t]));
    expect(byKey.two).toMatchObject({ status: 'completed', result: { bytes: [20_000, 20_000] } });
    expect(byKey.three).toMatchObject({ status: 'failed', retry_count: 0, error: 'Dependency results too large: 3 results, 58.6 KiB in total (limit 48.8 KiB)' });
    expect(fanIns).toEqual(['two']);
  });
});
