import { describe, expect, it } from 'vitest';
import { blockAt, } from './hooks.ts';
import { startExecution } from './lifecycle.ts';
import { agentQueue, ensureAgentQueues } from './queue.ts';
import { requeueLostJobs } from './recovery.ts';
import { claimTasks, recordOutcomes } from './runner.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, until } from './testing.ts';

/** Item 6 of issue 10: a wait wakes when it should, and only then; one retry mechanism. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});


async function tasksOf(executionId: string) {
  return h.database.sql<{ id: string; key: string; status: string; attempt: number; job_id: string | null; wake_at: Date | null }[]>`
    select id, key, status, attempt, job_id, wake_at from tasks where execution_id = ${executionId} order by key`;
}

async function oneTask(agentType: string) {
  const ws = await h.workspace();
  const strategyId = await h.strategy(ws, [{ key: 'only', description: 'only', agentType }]);
  return startExecution(h.ctx, { strategyId, workspaceId: ws });
}

describe('claims fenced by the job id', () => {
  it('a replayed wait outcome (a lost commit acknowledgement) is discarded', async () => {
    const execution = await oneTask('analysis');
    const [task] = await tasksOf(execution.id);
    const [claimed] = await claimTasks(h.ctx, [{ taskId: task!.id, executionId: execution.id, attempt: task!.attempt, jobId: task!.job_id! }], 'test-worker', 30);
    const wait = { taskId: claimed!.id, executionId: execution.id, attempt: claimed!.attempt, jobId: claimed!.jobId, ok: 'wait' as const, until: new Date(Date.now() + 60_000) };
    expect((await recordOutcomes(h.ctx, [wait])).recorded).toBe(1);
    const [held] = await tasksOf(execution.id);
    expect((await recordOutcomes(h.ctx, [wait])).recorded).toBe(0);
    const [after] = await tasksOf(execution.id);
    expect(after?.job_id).toBe(held?.job_id);
    const [jobs] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where data->>'taskId' = ${task!.id} and state = 'created'`;
    expect(jobs?.n).toBe(2); // the first job (never fetched here) and one wake-up job, not two
  });

  it('a stale job of the same attempt does not cut a wait short', async () => {
    const runs: boolean[] = [];
    h.registry.register('coordination', ({ task, wait }) => {
      runs.push(task.resumedFromWait);
      if (!task.resumedFromWait) wait(new Date(Date.now() + 60_000));
      return 'woke';
    });
    const worker = await h.startWorker();
    const execution = await oneTask('coordination');
    const task = await until('the task to wait', async () => (await tasksOf(execution.id)).find((t) => t.wake_at));
    // A duplicate of the task's job with the same attempt: pg-boss's own retry, a replay, a double re-queue.
    const stale = await h.boss.send(agentQueue('coordination'), { taskId: task.id, executionId: execution.id, attempt: task.attempt });
    await until('the stale job to be handled', async () => {
      const [job] = await h.database.sql<{ state: string }[]>`select state from pgboss.job where id = ${stale!}::uuid`;
      return job?.state === 'completed';
    });
    const [after] = await tasksOf(execution.id);
    expect(after).toMatchObject({ status: 'in_progress', attempt: task.attempt, job_id: task.job_id });
    expect(after?.wake_at).not.toBeNull();
    expect(runs).toEqual([false]);
    await worker.stop();
  });
});

describe('the lost-job sweep', () => {
  it('re-queues a task once when two sweeps saw the same lost job', async () => {
    const execution = await oneTask('scheduling');
    const [task] = await tasksOf(execution.id);
    // Its job is gone (failed, expired) and it has been assigned for longer than a lease.
    await h.database.sql`delete from pgboss.job where id = ${task!.job_id!}::uuid`;
    await h.database.sql`update tasks set assigned_at = now() - interval '1 hour' where id = ${task!.id}`;
    const between = blockAt('recovery:before-requeue', { match: (info) => (info.taskIds as string[]).includes(task!.id), times: 1 });
    const first = requeueLostJobs(h.ctx, 30);
    await between.reached;
    expect(await requeueLostJobs(h.ctx, 30)).toBe(1);
    between.release();
    expect(await first).toBe(0);
    const [after] = await tasksOf(execution.id);
    expect(after).toMatchObject({ status: 'assigned', attempt: 2 });
    const [jobs] = await h.database.sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where data->>'taskId' = ${task!.id}`;
    expect(jobs?.n).toBe(1);
  });
});

describe("pg-boss's retry policy", () => {
  it('is off on the agent queues, also on queues created by an older version', async () => {
    await h.boss.updateQueue(agentQueue('email'), { retryLimit: 3, retryBackoff: true });
    expect((await h.boss.getQueue(agentQueue('email')))?.retryLimit).toBe(3);
    await ensureAgentQueues(h.boss);
    for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) {
      expect((await h.boss.getQueue(agentQueue(type)))?.retryLimit).toBe(0);
    }
  });
});
