import { describe, expect, it } from 'vitest';
import { blockAt, } from './hooks.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { reapExpiredLeases } from './recovery.ts';
import { renewLeases } from './runner.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, until } from './testing.ts';

/** Item 1 of issue 10: a task runs at most once at a time. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});


async function taskRow(executionId: string) {
  const [row] = await h.database.sql<{ id: string; attempt: number; status: string; retry_count: number; worker_id: string | null; lease_ms: number | null }[]>`
    select id, attempt, status, retry_count, worker_id, (extract(epoch from lease_expires_at) * 1000)::float8 as lease_ms from tasks where execution_id = ${executionId}`;
  return row!;
}

async function startOne(agentType: string, extra: Record<string, unknown> = {}) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, [{ key: 'only', description: 'only', agentType, maxRetries: 3, ...extra }]);
  return startExecution(h.ctx, { strategyId, workspaceId: ws });
}

describe('leases', () => {
  it('a renewal refuses a lapsed lease and aborts that attempt at once', async () => {
    const aborted = Promise.withResolvers<string>();
    h.registry.register('email', ({ signal }) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      signal.addEventListener('abort', () => {
        aborted.resolve(String((signal.reason as Error)?.message));
        resolve();
      });
      return promise; // runs until aborted
    });
    // Heartbeat every second; no sweep, so nothing but the renewal can notice the lapse.
    const worker = await h.startWorker({ leaseSeconds: 3, sweepIntervalMs: 600_000 });
    const execution = await startOne('email');
    const task = await until('the task to start', async () => ((await taskRow(execution.id)).status === 'in_progress' ? taskRow(execution.id) : undefined));
    await h.database.sql`update tasks set lease_expires_at = now() - interval '1 second' where id = ${task.id}`;
    const reason = await Promise.race([aborted.promise, new Promise<string>((r) => setTimeout(() => r('not aborted'), 5000))]);
    expect(reason).toMatch(/^Lease lost/);
    // Its outcome will not be recorded: the attempt is marked lost on this worker.
    expect(worker.inFlight().lost).toEqual([`${task.id}:1`]);
    await worker.stop();
    await until('the lost attempt to be pruned', () => worker.inFlight().lost.length === 0);
    // Nothing else may take the abandoned task up again.
    await controlExecution(h.ctx, execution.id, 'cancel');
  });

  it('a reap re-checks, under the lock, that the lease is still lapsed', async () => {
    const gate = Promise.withResolvers<void>();
    h.registry.register('content', () => gate.promise.then(() => 'done'));
    const worker = await h.startWorker({ leaseSeconds: 30, sweepIntervalMs: 600_000 });
    const execution = await startOne('content');
    const task = await until('the task to start', async () => ((await taskRow(execution.id)).status === 'in_progress' ? taskRow(execution.id) : undefined));
    await h.database.sql`update tasks set lease_expires_at = now() - interval '1 second' where id = ${task.id}`;
    const between = blockAt('recovery:before-reap', { match: (info) => (info.taskIds as string[]).includes(task.id), times: 1 });
    const reap = reapExpiredLeases(h.ctx, 30);
    await between.reached;
    // The holder renews (after its own database trouble) between the reap's read and its write.
    expect([...(await renewLeases(h.ctx, worker.workerId, [{ id: task.id, attempt: 1 }], 30, { allowLapsed: true }))]).toEqual([]);
    between.release();
    expect(await reap).toBe(0);
    expect(await taskRow(execution.id)).toMatchObject({ status: 'in_progress', attempt: 1, retry_count: 0 });
    gate.resolve();
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', retry_count: 0 });
    await worker.stop();
  });
});

describe('attempts on one worker', () => {
  it('never runs attempt n+1 while attempt n still runs, and n ending does not cost n+1 its lease', async () => {
    const log: string[] = [];
    const firstMayEnd = Promise.withResolvers<void>();
    const secondMayEnd = Promise.withResolvers<void>();
    h.registry.register('research', async ({ task, signal }) => {
      log.push(`start${task.attempt}`);
      if (task.attempt === 1) {
        // Notices the abort but takes its time to wind down.
        signal.addEventListener('abort', () => log.push('abort1'));
        await firstMayEnd.promise;
        log.push('end1');
        return 'late result of attempt 1';
      }
      await secondMayEnd.promise;
      log.push(`end${task.attempt}`);
      return 'attempt 2';
    });
    const worker = await h.startWorker({ leaseSeconds: 2, sweepIntervalMs: 100 });
    // The worker's renewals stall (an event loop stuck, a slow network): attempt 1's lease lapses and is reaped.
    const renewals = blockAt('worker:renew', {
      match: (info) => info.workerId === worker.workerId && (info.held as { attempt: number }[]).some((held) => held.attempt === 1),
    });
    const execution = await startOne('research');
    await until('attempt 2 to be claimed by the same worker', async () => (await taskRow(execution.id)).attempt === 2 && log.includes('abort1'));
    expect(log).toEqual(['start1', 'abort1']);
    firstMayEnd.resolve();
    await until('attempt 2 to start', () => log.includes('start2'));
    expect(log).toEqual(['start1', 'abort1', 'end1', 'start2']);
    renewals.remove();
    // Attempt 2's lease is renewed after attempt 1 ended (old code: attempt 1's end dropped attempt 2's heartbeat).
    const claimed = await taskRow(execution.id);
    await until('a renewal of attempt 2', async () => {
      const row = await taskRow(execution.id);
      return row.attempt === 2 && row.status === 'in_progress' && row.lease_ms! > claimed.lease_ms! + 1500;
    });
    secondMayEnd.resolve();
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', retry_count: 1, result: 'attempt 2' });
    // The lost attempt is pruned once it has ended.
    await until('the worker to hold nothing', () => worker.inFlight().running.length === 0 && worker.inFlight().lost.length === 0);
    await worker.stop();
  });
});
