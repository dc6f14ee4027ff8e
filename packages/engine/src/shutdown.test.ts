import { describe, expect, it } from 'vitest';
import { onHook } from './hooks.ts';
import { startExecution } from './lifecycle.ts';
import { createStrategy } from './strategy/store.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, until } from './testing.ts';

/** Item 7 of issue 10: shutdown and blips are not failures. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

async function start(items: { key: string; agentType: string; dependsOn?: string[] }[]) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(
    ws,
    items.map((item) => ({ description: item.key, maxRetries: 0, ...item })),
  );
  return startExecution(h.ctx, { strategyId, workspaceId: ws });
}

/** A database error as postgres.js reports a dropped connection. */
const connectionLost = () => Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });

async function expectUncharged(executionId: string) {
  const done = await h.waitForStatus(executionId, ['completed', 'failed'], 30_000);
  expect(done.execution.status).toBe('completed');
  for (const task of done.tasks) expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
  expect((await h.events(executionId)).filter((e) => e.type === 'task-failed')).toEqual([]);
  return done;
}

describe('a worker that stops', () => {
  it('aborts its agents and hands their tasks back without charging an attempt', async () => {
    const reasons: string[] = [];
    h.registry.register('email', ({ task, signal }) => {
      if (task.attempt > 1) return 'sent by the next worker';
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          reasons.push(String((signal.reason as Error).message));
          reject(signal.reason);
        });
      });
    });
    const first = await h.startWorker();
    const execution = await start([{ key: 'mail', agentType: 'email' }]);
    await until('the task to run', async () => (await h.events(execution.id)).some((e) => e.type === 'task-progress'));
    await first.stop();
    expect(reasons).toEqual(['The worker is stopping']);
    const [back] = await h.database.sql<{ status: string; attempt: number; retry_count: number }[]>`select status, attempt, retry_count from tasks where execution_id = ${execution.id}`;
    expect(back).toMatchObject({ status: 'assigned', attempt: 2, retry_count: 0 });
    // The hand-back is a state change with its event: attempt 1 ended, then attempt 2 was queued.
    const types = (await h.events(execution.id)).filter((e) => e.type.startsWith('task-')).map((e) => `${e.type}:${e.data.status ?? e.data.attempt}`);
    expect(types).toEqual(['task-assigned:1', 'task-progress:in_progress', 'task-progress:pending', 'task-assigned:2']);
    const second = await h.startWorker();
    const done = await expectUncharged(execution.id);
    expect(done.tasks[0]?.result).toBe('sent by the next worker');
    await second.stop();
  });
});

describe('infrastructure errors', () => {
  it('a lost claim acknowledgement is retried, not charged', async () => {
    let runs = 0;
    h.registry.register('content', () => ++runs);
    let failures = 0;
    onHook('runner:after-claim-commit', () => {
      if (failures++ === 0) throw connectionLost();
    });
    const worker = await h.startWorker();
    const execution = await start([{ key: 'claimed', agentType: 'content' }]);
    await expectUncharged(execution.id);
    expect(failures).toBe(2);
    expect(runs).toBe(1);
    await worker.stop();
  });

  it('a dependency-load error hands the task back, not charged', async () => {
    h.registry.register('research', ({ task }) => task.key);
    let failures = 0;
    onHook('runner:load-dependencies', () => {
      // Fails every try of the first claim: the worker gives the attempt back.
      if (failures++ < 5) throw connectionLost();
    });
    const worker = await h.startWorker();
    const execution = await start([
      { key: 'a', agentType: 'research' },
      { key: 'b', agentType: 'research', dependsOn: ['a'] },
    ]);
    await expectUncharged(execution.id);
    const [b] = await h.database.sql<{ attempt: number }[]>`select attempt from tasks where execution_id = ${execution.id} and key = 'b'`;
    expect(b?.attempt).toBe(2);
    expect(failures).toBe(6);
    await worker.stop();
  });

  it("an error loading the execution's input hands the task back, not charged, and the next attempt sees the input", async () => {
    const seen: unknown[] = [];
    h.registry.register('scheduling', ({ execution }) => {
      seen.push(execution.input);
      return 'scheduled';
    });
    let failures = 0;
    onHook('executor:load-input', () => {
      if (failures++ === 0) throw connectionLost();
    });
    const worker = await h.startWorker();
    const strategy = await createStrategy(h.database.db, {
      workspaceId: await h.workspace(),
      name: 'With input',
      inputSchema: { type: 'object', properties: { day: { type: 'string' } } },
      items: [{ key: 'plan', description: 'Plan', agentType: 'scheduling' }],
    });
    const execution = await startExecution(h.ctx, { strategyId: strategy.id, workspaceId: strategy.workspaceId, input: { day: 'Friday' } });
    const done = await expectUncharged(execution.id);
    expect(done.tasks[0]?.result).toBe('scheduled');
    expect(seen).toEqual([{ day: 'Friday' }]);
    expect(failures).toBe(2);
    await worker.stop();
  });

  it('a progress() error during a database blip is retried, not the agent failing', async () => {
    let runs = 0;
    h.registry.register('analysis', async ({ progress }) => {
      runs++;
      await progress({ step: 1 });
      return 'analysed';
    });
    let failures = 0;
    onHook('runner:report-progress', () => {
      if (failures++ < 2) throw connectionLost();
    });
    const worker = await h.startWorker();
    const execution = await start([{ key: 'report', agentType: 'analysis' }]);
    await expectUncharged(execution.id);
    expect(runs).toBe(1);
    expect((await h.events(execution.id)).filter((e) => e.type === 'task-progress' && (e.data.progress as { step?: number } | undefined)?.step === 1)).toHaveLength(1);
    await worker.stop();
  });
});
