import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { startExecution } from '@strata/engine';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../test/processes.ts';

let h: EngineHarness;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  h = await createEngineHarness();
  await h.database.sql`create table test_runs (task_id text, attempt int, pid int, at timestamptz default now())`;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
});
afterAll(async () => {
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'research', ...extra });

async function exactlyOnce(executionId: string) {
  const done = await h.waitForStatus(executionId, ['completed'], 90_000);
  expect(done.execution.completedTasks).toBe(done.execution.totalTasks);
  expect(done.execution.failedTasks).toBe(0);
  expect(done.tasks.every((t) => t.status === 'completed')).toBe(true);
  const completions = (await h.events(executionId)).filter((e) => e.type === 'task-completed').map((e) => e.data.taskId);
  expect(completions.length).toBe(done.execution.totalTasks);
  expect(new Set(completions).size).toBe(completions.length);
  return done;
}

describe('several worker processes', () => {
  it('share the work without running a task twice', async () => {
    workers.push(await spawnWorker(h.database.url), await spawnWorker(h.database.url));
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, Array.from({ length: 60 }, (_, i) => item(`t${i}`, { input: { delayMs: 30 } })));
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    await exactlyOnce(execution.id);
    const runs = await h.database.sql<{ task_id: string; n: number; pids: number }[]>`
      select r.task_id, count(*)::int as n from test_runs r join tasks t on t.id = r.task_id
      where t.execution_id = ${execution.id} group by r.task_id`;
    expect(runs).toHaveLength(60);
    expect(runs.every((r) => r.n === 1)).toBe(true);
    const [pids] = await h.database.sql`select count(distinct r.pid)::int as n from test_runs r join tasks t on t.id = r.task_id where t.execution_id = ${execution.id}`;
    expect(pids?.n).toBe(2);
  });

  it('retries the task of a worker killed with SIGKILL once its lease lapses', async () => {
    const a = await spawnWorker(h.database.url);
    const b = await spawnWorker(h.database.url);
    workers.push(a, b);
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      ...Array.from({ length: 6 }, (_, i) => item(`slow${i}`, { input: { delayMs: 1500 } })),
      item('after', { dependsOn: ['slow0', 'slow1', 'slow2'] }),
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    // Wait until worker A holds a task, then kill it outright.
    const heldByA = () => h.database.sql<{ id: string }[]>`
      select id from tasks where execution_id = ${execution.id} and status = 'in_progress' and worker_id like ${`%:${a.pid}:%`}`;
    for (let i = 0; i < 200 && (await heldByA()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const killedAt = Date.now();
    await a.stop('SIGKILL');
    // What A held when it died (it may have claimed more between the check and the kill); a
    // lease lasts seconds, so nothing has been reaped yet.
    const held = await heldByA();
    expect(held.length).toBeGreaterThan(0);
    const done = await exactlyOnce(execution.id);
    for (const { id } of held) {
      const task = done.tasks.find((t) => t.id === id)!;
      expect(task.retry_count).toBe(1);
      expect((task.result as { pid: number }).pid).toBe(b.pid);
    }
    // Recovered within a few lease periods, not the task's whole timeout.
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    const failed = (await h.events(execution.id)).filter((e) => e.type === 'task-failed');
    expect(failed.map((e) => e.data.taskId).sort()).toEqual(held.map((t) => t.id).sort());
    expect(String(failed[0]?.data.error)).toContain('stopped renewing its lease');
  });

  it('survives every database connection being terminated mid-run', async () => {
    const a = await spawnWorker(h.database.url);
    const b = await spawnWorker(h.database.url);
    workers.push(a, b);
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      ...Array.from({ length: 40 }, (_, i) => item(`w${i}`, { input: { delayMs: 200 } })),
      ...Array.from({ length: 10 }, (_, i) => item(`chain${i}`, { dependsOn: i === 0 ? ['w0'] : [`chain${i - 1}`], input: { delayMs: 50 } })),
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 700));
      await h.database.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and application_name <> 'strata-test'`;
    }
    await exactlyOnce(execution.id);
    // Nothing ran twice: connections came back before any lease lapsed.
    const [twice] = await h.database.sql`
      select count(*)::int as n from (select task_id from test_runs r join tasks t on t.id = r.task_id
      where t.execution_id = ${execution.id} group by task_id having count(*) > 1) d`;
    expect(twice?.n).toBe(0);
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
  });
});
