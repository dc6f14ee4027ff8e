import { describe, expect, it } from 'vitest';
import { controlExecution, startExecution } from '../lifecycle.ts';
import { claimTasks, recordOutcomes } from '../runner.ts';
import { useEngineHarness } from '../test-harness.ts';
import type { EngineHarness } from '../testing.ts';

/**
 * The recording of a child request, driven by hand (no worker): claims and outcomes as a worker
 * would send them, including the ones a worker sends wrongly (a replay after a lost commit
 * acknowledgement, a stale job, an earlier attempt).
 */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

type TaskRow = { id: string; status: string; attempt: number; job_id: string | null; wake_at: Date | null; retry_count: number; error: string | null };
const taskOf = async (executionId: string) => (await h.database.sql<TaskRow[]>`select id, status, attempt, job_id, wake_at, retry_count, error from tasks where execution_id = ${executionId}`)[0]!;
const childrenOf = (taskId: string) =>
  h.database.sql<{ id: string; parent_attempt: number; status: string; trigger: string }[]>`
    select id, parent_attempt, status, trigger from executions where parent_task_id = ${taskId} order by parent_attempt`;

/** A parent with one `strategy` task running `childStrategy`, started and its task claimed by "w1". */
async function claimedParent(options: { childItems?: number } = {}) {
  const ws = await h.workspace();
  const items = Array.from({ length: options.childItems ?? 1 }, (_, i) => ({ key: `c${i}`, description: 'child task', agentType: 'analysis' }));
  const child = await h.strategy(ws, items);
  const parent = await h.strategy(ws, [{ key: 'sub', description: 'run the child', agentType: 'strategy', input: { strategyId: child } }]);
  const execution = await startExecution(h.ctx, { strategyId: parent, workspaceId: ws });
  const queued = await taskOf(execution.id);
  const [claimed] = await claimTasks(h.ctx, [{ taskId: queued.id, executionId: execution.id, attempt: queued.attempt, jobId: queued.job_id! }], 'w1', 30);
  const request = { taskId: claimed!.id, executionId: execution.id, attempt: claimed!.attempt, jobId: claimed!.jobId, ok: 'child' as const, request: { strategyId: child } };
  return { ws, child, execution, task: claimed!, request };
}

describe('recording a child request', () => {
  it('starts one child and holds the task; a replay (a lost acknowledgement) starts nothing', async () => {
    const { execution, task, request } = await claimedParent();
    expect((await recordOutcomes(h.ctx, [request])).recorded).toBe(1);
    const held = await taskOf(execution.id);
    expect(held).toMatchObject({ status: 'in_progress', attempt: 1 });
    expect(held.wake_at).not.toBeNull();
    expect(held.job_id).not.toBe(task.jobId);
    // The same outcome again, as a worker repeats it when the commit's answer was lost.
    expect((await recordOutcomes(h.ctx, [request])).recorded).toBe(0);
    const children = await childrenOf(task.id);
    expect(children).toEqual([{ id: expect.any(String), parent_attempt: 1, status: 'running', trigger: 'parent' }]);
    expect((await taskOf(execution.id)).job_id).toBe(held.job_id);
  });

  it('starts nothing for a stale job of the attempt, or for an earlier attempt', async () => {
    const { execution, task, request } = await claimedParent();
    expect((await recordOutcomes(h.ctx, [{ ...request, jobId: '00000000-0000-0000-0000-000000000000' }])).recorded).toBe(0);
    expect((await recordOutcomes(h.ctx, [{ ...request, attempt: 0, jobId: undefined }])).recorded).toBe(0);
    expect(await childrenOf(task.id)).toEqual([]);
    expect(await taskOf(execution.id)).toMatchObject({ status: 'in_progress', wake_at: null });
  });

  it('hands the task back while its execution is paused (nothing new starts), and starts the child at resume under a new attempt', async () => {
    const { execution, task, request } = await claimedParent();
    await controlExecution(h.ctx, execution.id, 'pause');
    expect((await recordOutcomes(h.ctx, [request])).recorded).toBe(1);
    expect(await childrenOf(task.id)).toEqual([]);
    expect(await taskOf(execution.id)).toMatchObject({ status: 'pending', attempt: 1, retry_count: 0 });
    await controlExecution(h.ctx, execution.id, 'resume');
    const requeued = await taskOf(execution.id);
    expect(requeued).toMatchObject({ status: 'assigned', attempt: 2, retry_count: 0 });
    const [again] = await claimTasks(h.ctx, [{ taskId: task.id, executionId: execution.id, attempt: 2, jobId: requeued.job_id! }], 'w1', 30);
    expect((await recordOutcomes(h.ctx, [{ ...request, attempt: 2, jobId: again!.jobId }])).recorded).toBe(1);
    expect((await childrenOf(task.id)).map((c) => c.parent_attempt)).toEqual([2]);
  });

  it('skips the task, starting nothing, when its execution was cancelled meanwhile', async () => {
    const { execution, task, request } = await claimedParent();
    await controlExecution(h.ctx, execution.id, 'cancel');
    expect((await recordOutcomes(h.ctx, [request])).recorded).toBe(1);
    expect(await childrenOf(task.id)).toEqual([]);
    expect(await taskOf(execution.id)).toMatchObject({ status: 'skipped' });
    expect((await h.waitForStatus(execution.id, ['cancelled'])).execution.completedAt).not.toBeNull();
  });

  it('fails the task without retry, naming why, when the child cannot start', async () => {
    const { execution, task, request } = await claimedParent();
    expect((await recordOutcomes(h.ctx, [{ ...request, request: { strategyId: 'strat_nothere' } }])).recorded).toBe(1);
    expect(await childrenOf(task.id)).toEqual([]);
    const failed = await taskOf(execution.id);
    expect(failed).toMatchObject({ status: 'failed', retry_count: 0, error: 'The child execution of strat_nothere was not started: Strategy not found: strat_nothere' });
    expect((await h.waitForStatus(execution.id, ['failed'])).execution.error).toBe(`Task "sub" failed: ${failed.error}`);
  });

  it('queues the task at once when its child ends in the same transaction (a strategy without items)', async () => {
    const { execution, task, request } = await claimedParent({ childItems: 0 });
    expect((await recordOutcomes(h.ctx, [request])).recorded).toBe(1);
    const [child] = await childrenOf(task.id);
    expect(child).toMatchObject({ status: 'completed' });
    const held = await taskOf(execution.id);
    const [job] = await h.database.sql<{ due: boolean }[]>`
      select start_after <= now() + interval '1 second' as due from pgboss.job where id = ${held.job_id}::uuid and state = 'created'`;
    expect(job?.due).toBe(true);
  });
});
