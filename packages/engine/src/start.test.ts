import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blockAt, clearHooks, onHook } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

/**
 * Start is one transaction (issue 10, item 2b): nothing can see, cancel or strand an execution
 * between "created" and "running". No worker runs here: queued tasks stay queued.
 */
let h: EngineHarness;
let ws: string;

beforeAll(async () => {
  h = await createEngineHarness();
  ws = await h.workspace();
});
afterEach(clearHooks);
afterAll(async () => {
  await h?.close();
});

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `t${i}`, description: `Task ${i}`, agentType: 'content', dependsOn: i > 0 ? ['t0'] : [] }));

describe('start', () => {
  it('cannot be undone by a cancel that lands while it is starting', async () => {
    const strategyId = await h.strategy(ws, items(5));
    const gate = blockAt('lifecycle:start-before-commit', { match: (info) => info.strategyId === strategyId });
    const starting = startExecution(h.ctx, { strategyId, workspaceId: ws });
    const { executionId } = (await gate.reached) as { executionId: string };
    // The conflicting cancel, while start has not finished.
    const early = await controlExecution(h.ctx, executionId, 'cancel').then(
      (summary) => summary.status,
      (error: { code?: string }) => error.code,
    );
    gate.release();
    const created = await starting;
    expect(created.id).toBe(executionId);
    // Start's writes are invisible until they commit as a whole, so there was nothing to cancel.
    expect(early).toBe('NOT_FOUND');
    const [row] = await h.database.sql<{ status: string; completed_at: Date | null }[]>`select status, completed_at from executions where id = ${executionId}`;
    expect(row).toEqual({ status: 'running', completed_at: null });

    // The cancel the client then sends ends it for good, after execution-started.
    await controlExecution(h.ctx, executionId, 'cancel');
    const done = await h.waitForStatus(executionId, ['cancelled']);
    expect(done.execution.completedAt).not.toBeNull();
    const types = (await h.events(executionId)).map((e) => e.type);
    expect(types[0]).toBe('execution-started');
    expect(types.filter((t) => t === 'execution-started')).toHaveLength(1);
    expect(types.at(-1)).toBe('execution-cancelled');
  });

  it('leaves nothing behind when it fails before committing', async () => {
    const strategyId = await h.strategy(ws, items(3));
    let seen: string | undefined;
    onHook('lifecycle:start-before-commit', (info) => {
      if (info.strategyId !== strategyId) return;
      seen = info.executionId as string;
      throw new Error('connection lost before COMMIT');
    });
    await expect(startExecution(h.ctx, { strategyId, workspaceId: ws })).rejects.toThrow('connection lost before COMMIT');
    expect(seen).toMatch(/^exec_/);
    const [left] = await h.database.sql<{ executions: number; tasks: number; jobs: number }[]>`
      select (select count(*)::int from executions where strategy_id = ${strategyId}) as executions,
        (select count(*)::int from tasks where execution_id = ${seen!}) as tasks,
        (select count(*)::int from pgboss.job where data->>'executionId' = ${seen!}) as jobs`;
    // No `pending` execution that nothing would ever pick up.
    expect(left).toEqual({ executions: 0, tasks: 0, jobs: 0 });
  });
});
