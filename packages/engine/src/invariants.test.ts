import { newExecutionId, newId } from '@strata/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonRetryableError } from './errors.ts';
import { type ChildRow, childViolations, type InvariantName, assertExecutionInvariants, attemptViolations, checkInvariants, overlappingRuns } from './invariants.ts';
import { controlExecution, startExecution } from './lifecycle.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

let h: EngineHarness;
let ws: string;
let strategyId: string;
let itemIds: string[];

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 20, maxMs: 50 } });
  ws = await h.workspace();
  strategyId = await h.strategy(ws, [
    { key: 'a', description: 'a', agentType: 'research' },
    { key: 'b', description: 'b', agentType: 'research', dependsOn: ['a'] },
  ]);
  const items = await h.database.sql<{ id: string }[]>`select id from strategy_items where strategy_id = ${strategyId} and level = 4 order by position`;
  itemIds = items.map((i) => i.id);
});
afterAll(async () => {
  await h?.close();
});

type Fixture = { executionId: string; a: string; b: string };

/**
 * A hand-made execution as the engine leaves it after a clean run: `a` completed at its first
 * attempt, `b` (after `a`) failed once and completed at its second. Each test breaks one thing.
 */
async function cleanFixture(): Promise<Fixture> {
  const sql = h.database.sql;
  const executionId = newExecutionId();
  const a = newId('task');
  const b = newId('task');
  await sql`insert into executions (id, workspace_id, strategy_id, status, total_tasks, completed_tasks, started_at, completed_at)
    values (${executionId}, ${ws}, ${strategyId}, 'completed', 2, 2, now(), now())`;
  await sql`insert into tasks (id, execution_id, workspace_id, l4_item_id, key, agent_type, priority, description, dependencies,
      pending_dependencies, max_retries, timeout_seconds, status, attempt, retry_count)
    values (${a}, ${executionId}, ${ws}, ${itemIds[0]!}, 'a', 'research', 'medium', 'a', '{}', 0, 3, 300, 'completed', 1, 0),
      (${b}, ${executionId}, ${ws}, ${itemIds[1]!}, 'b', 'research', 'medium', 'b', ${[a]}, 0, 3, 300, 'completed', 2, 1)`;
  await addEvents(executionId, [
    ['execution-started', { status: 'running' }],
    ['task-assigned', { taskId: a, attempt: 1 }],
    ['task-progress', { taskId: a, status: 'in_progress', attempt: 1, workerId: 'w1' }],
    ['task-completed', { taskId: a, status: 'completed' }],
    ['task-assigned', { taskId: b, attempt: 1 }],
    ['task-progress', { taskId: b, status: 'in_progress', attempt: 1, workerId: 'w1' }],
    ['task-failed', { taskId: b, status: 'pending', willRetry: true, retryCount: 1 }],
    ['task-assigned', { taskId: b, attempt: 2 }],
    ['task-progress', { taskId: b, status: 'in_progress', attempt: 2, workerId: 'w2' }],
    ['task-completed', { taskId: b, status: 'completed' }],
    ['health-update', {}],
    ['execution-completed', { status: 'completed' }],
  ]);
  return { executionId, a, b };
}

async function addEvents(executionId: string, events: [string, Record<string, unknown>][]) {
  for (const [type, data] of events) {
    await h.database.sql`insert into execution_events (execution_id, type, data) values (${executionId}, ${type}, ${JSON.stringify(data)}::jsonb)`;
  }
}

/** Reopens the fixture: running, no final event. */
async function reopen(f: Fixture, status = 'running') {
  await h.database.sql`update executions set status = ${status}, completed_at = null where id = ${f.executionId}`;
  await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type in ('execution-completed', 'health-update')`;
}

async function fired(f: Fixture, options = {}): Promise<InvariantName[]> {
  const violations = await checkInvariants(h.database, [f.executionId], options);
  return [...new Set(violations.map((v) => v.invariant))].sort();
}

describe('the invariant checker', () => {
  it('passes a clean execution', async () => {
    const f = await cleanFixture();
    expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
    await assertExecutionInvariants(h.database, f.executionId);
  });

  it('reports an unknown execution', async () => {
    expect(await checkInvariants(h.database.sql, ['exec_0_missing'])).toEqual([expect.objectContaining({ detail: 'no such execution' })]);
  });

  it('fires on counters that disagree with the tasks', async () => {
    const f = await cleanFixture();
    await h.database.sql`update executions set completed_tasks = 1, failed_tasks = 1 where id = ${f.executionId}`;
    expect(await fired(f)).toEqual(['counts']);
    await expect(assertExecutionInvariants(h.database, f.executionId)).rejects.toThrow(/\[counts\].*counters/);
  });

  describe('final event', () => {
    it('fires on a finished execution without a final event', async () => {
      const f = await cleanFixture();
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'execution-completed'`;
      expect(await fired(f)).toEqual(['final-event']);
    });

    it('fires on two final events', async () => {
      const f = await cleanFixture();
      await addEvents(f.executionId, [['execution-cancelled', { status: 'cancelled' }]]);
      expect(await fired(f)).toEqual(['final-event']);
    });

    it('fires on an event after the final one', async () => {
      const f = await cleanFixture();
      await addEvents(f.executionId, [['metrics-update', {}]]);
      expect(await fired(f)).toEqual(['final-event']);
    });

    it('fires on a final event that does not match the status', async () => {
      const f = await cleanFixture();
      await h.database.sql`update executions set status = 'cancelled' where id = ${f.executionId}`;
      expect(await fired(f)).toEqual(['final-event']);
    });

    it('fires on a final event while the execution is still running, and on completed without completedAt', async () => {
      const f = await cleanFixture();
      await h.database.sql`update executions set completed_at = null where id = ${f.executionId}`;
      const details = (await checkInvariants(h.database, [f.executionId])).map((v) => v.detail);
      expect(details).toEqual(expect.arrayContaining(['completed without completedAt', expect.stringMatching(/not finished \(completed\) but has final event/)]));
    });

    it('fires on execution-started after the final event (a cancel undone by start)', async () => {
      const f = await cleanFixture();
      await h.database.sql`update executions set status = 'cancelled' where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type in ('execution-started', 'execution-completed')`;
      await addEvents(f.executionId, [
        ['execution-cancelled', { status: 'cancelled' }],
        ['execution-started', { status: 'running' }],
      ]);
      const details = (await checkInvariants(h.database, [f.executionId])).map((v) => v.detail);
      expect(details).toEqual(expect.arrayContaining([expect.stringMatching(/execution-started#\d+ after execution-cancelled/)]));
    });

    it('fires when only the end of the soak is checked and an execution never ended', async () => {
      const f = await cleanFixture();
      await reopen(f);
      expect(await fired(f)).toEqual([]);
      expect(await fired(f, { requireFinished: true })).toEqual(['finished']);
    });
  });

  describe('task state', () => {
    it('fires on an unfinished task in a finished execution', async () => {
      const f = await cleanFixture();
      await h.database.sql`update tasks set status = 'in_progress', lease_expires_at = now() + interval '1 minute' where id = ${f.b}`;
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      expect(await fired(f)).toContain('task-state');
    });

    it('accepts an assigned task only while its pg-boss job is live', async () => {
      const f = await cleanFixture();
      await reopen(f);
      const jobId = crypto.randomUUID();
      await h.database.sql`update tasks set status = 'assigned', job_id = ${jobId} where id = ${f.b}`;
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and data->>'taskId' = ${f.b} and id > (
        select max(id) from execution_events where execution_id = ${f.executionId} and type = 'task-assigned' and data->>'taskId' = ${f.b})`;
      const before = await checkInvariants(h.database, [f.executionId]);
      expect(before.map((v) => v.detail)).toEqual(['assigned without a live pg-boss job']);
      await h.boss.send('agent.research', { taskId: f.b, executionId: f.executionId, attempt: 2 }, { id: jobId, startAfter: 3600 });
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
    });

    it('accepts a throttled task only unstarted (or in a durable wait) and sleeping on a live job', async () => {
      const f = await cleanFixture();
      await reopen(f);
      const jobId = crypto.randomUUID();
      await h.database.sql`update tasks set status = 'assigned', job_id = ${jobId}, throttle_scope = 'type:ws:research' where id = ${f.b}`;
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and data->>'taskId' = ${f.b} and id > (
        select max(id) from execution_events where execution_id = ${f.executionId} and type = 'task-assigned' and data->>'taskId' = ${f.b})`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual([
        'throttled without a live pg-boss job: nothing would wake it',
        'assigned without a live pg-boss job',
      ]);
      await h.boss.send('agent.research', { taskId: f.b, executionId: f.executionId, attempt: 2 }, { id: jobId, startAfter: 3600 });
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
      // Running while still marked throttled: it started without leaving its sleep.
      await h.database.sql`update tasks set status = 'in_progress', lease_expires_at = now() + interval '1 minute' where id = ${f.b}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['throttled but in_progress and running']);
    });

    it('accepts an in-progress task only under a live lease', async () => {
      const f = await cleanFixture();
      await reopen(f);
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'task-completed' and data->>'taskId' = ${f.b}`;
      await h.database.sql`update tasks set status = 'in_progress', lease_expires_at = now() + interval '1 minute' where id = ${f.b}`;
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
      await h.database.sql`update tasks set lease_expires_at = now() - interval '1 second' where id = ${f.b}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['in_progress with a lapsed lease']);
    });

    it('fires on a task waiting in a cancelled execution (a wait that can never end)', async () => {
      const f = await cleanFixture();
      await reopen(f, 'running');
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'task-completed' and data->>'taskId' = ${f.b}`;
      await addEvents(f.executionId, [['task-progress', { taskId: f.b, status: 'in_progress', waitingUntil: new Date().toISOString() }]]);
      await h.database.sql`update tasks set status = 'in_progress', wake_at = now() + interval '1 hour' where id = ${f.b}`;
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
      await h.database.sql`update executions set status = 'cancelled' where id = ${f.executionId}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual([
        'waiting (wake time set) in a cancelled execution: it will never end',
      ]);
    });

    it('fires on a ready task nothing queued, a pending task in a failed execution, and a drifted dependency counter', async () => {
      const f = await cleanFixture();
      await reopen(f);
      await h.database.sql`update executions set completed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and data->>'taskId' = ${f.b}`;
      await h.database.sql`update tasks set status = 'pending', attempt = 0, retry_count = 0 where id = ${f.b}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['ready in a running execution but not queued']);
      await h.database.sql`update tasks set pending_dependencies = 1 where id = ${f.b}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['pending_dependencies is 1 but 0 dependencies are not completed']);
      await h.database.sql`update executions set status = 'failed' where id = ${f.executionId}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['pending in a failed execution: never skipped']);
    });

    it('fires on a pending task behind a failed dependency in a running execution', async () => {
      const f = await cleanFixture();
      await reopen(f);
      await h.database.sql`update executions set completed_tasks = 0, failed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and data->>'taskId' = ${f.b}`;
      await h.database.sql`update tasks set status = 'pending', attempt = 0, retry_count = 0, pending_dependencies = 1 where id = ${f.b}`;
      await h.database.sql`update tasks set status = 'failed' where id = ${f.a}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'task-completed'`;
      await addEvents(f.executionId, [['task-failed', { taskId: f.a, status: 'failed', willRetry: false }]]);
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual([
        'pending behind 1 failed/skipped dependencies in a running execution: can never run',
      ]);
    });
  });

  describe('task events', () => {
    it('fires on a completed task without task-completed, or with two', async () => {
      const f = await cleanFixture();
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'task-completed' and data->>'taskId' = ${f.a}`;
      expect(await fired(f)).toEqual(['task-event']);
      const g = await cleanFixture();
      await h.database.sql`insert into execution_events (execution_id, type, data)
        select execution_id, type, data from execution_events where execution_id = ${g.executionId} and type = 'task-completed' and data->>'taskId' = ${g.a}`;
      expect(await fired(g)).toContain('task-event');
    });

    it('fires on a failed task whose last event does not say so', async () => {
      const f = await cleanFixture();
      await h.database.sql`update tasks set status = 'failed' where id = ${f.b}`;
      await h.database.sql`update executions set status = 'failed', completed_tasks = 1, failed_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type in ('execution-completed', 'task-completed') and data->>'taskId' is distinct from ${f.a}`;
      await addEvents(f.executionId, [['error', { status: 'failed' }]]);
      const violations = await checkInvariants(h.database, [f.executionId]);
      expect(violations.map((v) => v.invariant)).toEqual(['task-event']);
      expect(violations[0]!.detail).toMatch(/failed but its last event is task-progress/);
    });

    it('requires an event for a skipped task unless told not to (until skipped tasks have events)', async () => {
      const f = await cleanFixture();
      await h.database.sql`update tasks set status = 'skipped', attempt = 0, retry_count = 0 where id = ${f.b}`;
      await h.database.sql`update executions set status = 'cancelled', completed_tasks = 1, skipped_tasks = 1 where id = ${f.executionId}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and (type = 'execution-completed' or data->>'taskId' = ${f.b})`;
      await addEvents(f.executionId, [['execution-cancelled', { status: 'cancelled' }]]);
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['skipped but its last event is none']);
      expect(await checkInvariants(h.database, [f.executionId], { skippedTaskEvents: false })).toEqual([]);
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'execution-cancelled'`;
      await addEvents(f.executionId, [
        ['task-failed', { taskId: f.b, status: 'skipped', willRetry: false }],
        ['execution-cancelled', { status: 'cancelled' }],
      ]);
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
    });
  });

  describe('tasks carried over by a re-run', () => {
    /** The fixture as a re-run leaves it: `a` carried over (one task-completed marked reused, no attempt), `b` run as usual. */
    async function reusedFixture(): Promise<Fixture> {
      const f = await cleanFixture();
      await h.database.sql`update tasks set reused = true, attempt = 0 where id = ${f.a}`;
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and data->>'taskId' = ${f.a} and type <> 'task-completed'`;
      await h.database.sql`update execution_events set data = data || '{"reused": true}' where execution_id = ${f.executionId} and data->>'taskId' = ${f.a}`;
      return f;
    }

    it('passes a task carried over with its one reused task-completed and no attempt', async () => {
      const f = await reusedFixture();
      expect(await checkInvariants(h.database, [f.executionId])).toEqual([]);
    });

    it('fires on a reused task an agent ran for, or with more events than its completion', async () => {
      const f = await reusedFixture();
      await h.database.sql`update tasks set attempt = 1 where id = ${f.a}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual(['carried over (reused) but at attempt 1: an agent was run for it']);
      const g = await reusedFixture();
      const [completion] = await h.database.sql<{ id: string }[]>`select id from execution_events where execution_id = ${g.executionId} and data->>'taskId' = ${g.a}`;
      await reopen(g);
      await h.database.sql`insert into execution_events (execution_id, type, data) values (${g.executionId}, 'task-progress', ${JSON.stringify({ taskId: g.a, progress: { step: 1 } })}::jsonb)`;
      // The progress came after the completion, so the log's last event is not the completion either.
      expect((await checkInvariants(h.database, [g.executionId])).map((v) => v.detail)).toEqual([
        expect.stringMatching(/^completed but its last event is task-progress#\d+$/),
        expect.stringMatching(new RegExp(`^carried over \\(reused\\) with events task-completed#${completion!.id} \\(status completed\\), task-progress#\\d+: expected one task-completed marked reused$`)),
      ]);
    });

    it('fires on a completion marked reused for a task that ran, and on a task marked reused that ran', async () => {
      const f = await reusedFixture();
      await h.database.sql`update execution_events set data = data || '{"reused": true}' where execution_id = ${f.executionId} and type = 'task-completed' and data->>'taskId' = ${f.b}`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual([expect.stringMatching(/^not carried over but task-completed#\d+ is marked reused$/)]);
      const g = await reusedFixture();
      await h.database.sql`update tasks set reused = true where id = ${g.b}`;
      expect((await checkInvariants(h.database, [g.executionId])).map((v) => v.detail)).toEqual([
        'carried over (reused) but at attempt 2: an agent was run for it',
        expect.stringMatching(/^carried over \(reused\) with events task-assigned#\d+, .*: expected one task-completed marked reused$/),
      ]);
    });
  });

  describe('attempts', () => {
    it('fires on a claim while another attempt of the task is still running', async () => {
      const f = await cleanFixture();
      // Attempt 1's failure is gone from the log: attempt 2 was queued and claimed while 1 ran.
      await h.database.sql`delete from execution_events where execution_id = ${f.executionId} and type = 'task-failed'`;
      await h.database.sql`update tasks set retry_count = 0 where id = ${f.b}`;
      const details = (await checkInvariants(h.database, [f.executionId])).map((v) => v.detail);
      expect(details).toEqual([expect.stringMatching(/queues attempt 2 while attempt 1 is still running/), expect.stringMatching(/attempt 2 claimed .* while attempt 1 is still running/)]);
    });

    it('fires on a claim of a stale attempt and on retry counts the log does not show', async () => {
      const f = await cleanFixture();
      await h.database.sql`update execution_events set data = data || '{"attempt": 1}' where execution_id = ${f.executionId}
        and type = 'task-progress' and data->>'taskId' = ${f.b} and data->>'workerId' = 'w2'`;
      expect((await checkInvariants(h.database, [f.executionId])).map((v) => v.detail)).toEqual([
        expect.stringMatching(/attempt 1 claimed \(#\d+\) but the latest queued attempt is 2/),
      ]);
      const g = await cleanFixture();
      await h.database.sql`update tasks set retry_count = 4, max_retries = 3, attempt = 2 where id = ${g.b}`;
      expect((await checkInvariants(h.database, [g.executionId])).map((v) => v.detail)).toEqual([
        'retry_count is 4 but the log has 1 retries',
        'retry_count 4 exceeds maxRetries 3',
        'retry_count 4 with only 2 attempts',
      ]);
      // A retry that never ran (the attempt failed while paused, then the task was skipped) is fine.
      const p = await cleanFixture();
      await h.database.sql`update tasks set retry_count = 1, attempt = 1 where id = ${p.b}`;
      await h.database.sql`delete from execution_events where execution_id = ${p.executionId} and data->>'taskId' = ${p.b}
        and id > (select min(id) from execution_events where execution_id = ${p.executionId} and type = 'task-failed')`;
      await h.database.sql`update tasks set status = 'skipped' where id = ${p.b}`;
      await h.database.sql`update executions set completed_tasks = 1, skipped_tasks = 1 where id = ${p.executionId}`;
      expect(await checkInvariants(h.database, [p.executionId], { skippedTaskEvents: false })).toEqual([]);
      const k = await cleanFixture();
      await h.database.sql`update tasks set attempt = 3 where id = ${k.b}`;
      expect((await checkInvariants(h.database, [k.executionId])).map((v) => v.detail)).toEqual(['task is at attempt 3 but the log queued 2']);
    });

    it('ends a run at any task event that takes the task out of in_progress (a hand-back)', () => {
      const ev = (id: number, type: string, data: Record<string, unknown>) => ({ id, executionId: 'e', type, data: { taskId: 't', ...data } });
      const task = { status: 'completed', attempt: 2, retryCount: 0, maxRetries: 3 };
      const claim1 = ev(2, 'task-progress', { status: 'in_progress', attempt: 1, workerId: 'w1' });
      const claim2 = ev(5, 'task-progress', { status: 'in_progress', attempt: 2, workerId: 'w2' });
      const log = (handBack: ReturnType<typeof ev>[]) => [ev(1, 'task-assigned', { attempt: 1 }), claim1, ...handBack, ev(4, 'task-assigned', { attempt: 2 }), claim2, ev(6, 'task-completed', {})];
      expect(attemptViolations(task, log([ev(3, 'task-progress', { status: 'pending' })]))).toEqual([]);
      expect(attemptViolations(task, log([ev(3, 'task-progress', { status: 'in_progress', progress: { step: 1 } })]))).toHaveLength(2);
    });

    it('finds runs of one task that overlapped in time', () => {
      const runs = [
        { taskId: 't1', attempt: 1, startedAt: 0, endedAt: 10 },
        { taskId: 't1', attempt: 2, startedAt: 10, endedAt: 20 },
        { taskId: 't2', attempt: 1, startedAt: 0, endedAt: 100 },
        { taskId: 't2', attempt: 2, startedAt: 50, endedAt: 60 },
        { taskId: 't2', attempt: 3, startedAt: 70, endedAt: 80 },
        { taskId: 't3', attempt: 1, startedAt: 5, endedAt: 6 },
      ];
      const pairs = overlappingRuns(runs).map(([x, y]) => `${x.taskId}:${x.attempt}/${y.attempt}`);
      expect(pairs).toEqual(['t2:1/2', 't2:1/3']);
    });
  });

  describe('on real runs', () => {
    it('passes executions the engine ran: retries, a non-retryable failure, a wait, a cancel', async () => {
      h.registry.register('research', ({ task, wait }) => {
        if (task.input.failOnce && task.retryCount === 0) throw new Error('transient');
        if (task.input.fatal) throw new NonRetryableError('fatal');
        if (task.input.waitMs && !task.resumedFromWait) wait(new Date(Date.now() + Number(task.input.waitMs)));
        return { key: task.key };
      });
      h.registry.register('analysis', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
      await h.startWorker({ sweepIntervalMs: 200 });
      const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'research', ...extra });
      const good = await h.strategy(ws, [item('x', { input: { failOnce: true } }), item('y', { dependsOn: ['x'], input: { waitMs: 100 } }), item('z', { dependsOn: ['x'] })]);
      const bad = await h.strategy(ws, [item('p', { input: { fatal: true } }), item('q', { dependsOn: ['p'] })], { onTaskFailure: 'continue' });
      const slow = await h.strategy(ws, [item('s', { agentType: 'analysis', timeoutSeconds: 1, maxRetries: 0 }), item('t', { dependsOn: ['s'] })]);
      const e1 = await startExecution(h.ctx, { strategyId: good, workspaceId: ws });
      const e2 = await startExecution(h.ctx, { strategyId: bad, workspaceId: ws });
      const e3 = await startExecution(h.ctx, { strategyId: slow, workspaceId: ws });
      await controlExecution(h.ctx, e3.id, 'cancel');
      await h.waitForStatus(e1.id, ['completed']);
      await h.waitForStatus(e2.id, ['completed']);
      await h.waitForStatus(e3.id, ['cancelled']);
      await assertExecutionInvariants(h.database, e1.id, { requireFinished: true });
      // Skipped tasks (q, t) have no event of their own yet: helper "hub" adds them.
      await assertExecutionInvariants(h.database, e2.id, { requireFinished: true, skippedTaskEvents: false });
      await assertExecutionInvariants(h.database, e3.id, { requireFinished: true, skippedTaskEvents: false });
    });
  });
});

describe('the children invariant', () => {
  const row = (overrides: Partial<ChildRow> = {}): ChildRow => ({
    id: 'exec_child',
    status: 'running',
    parentId: 'exec_parent',
    parentStatus: 'running',
    parentFinished: false,
    parentAttempt: 2,
    taskStatus: 'in_progress',
    taskAttempt: 2,
    ...overrides,
  });

  it('passes a child its parent task waits for, and any child that has ended', () => {
    expect(childViolations([row(), row({ status: 'completed', taskStatus: 'completed' }), row({ status: 'cancelled', parentFinished: true, parentStatus: 'cancelled' })])).toEqual([]);
  });

  it('fires on a running child nobody waits for: its task left the attempt that started it', () => {
    expect(childViolations([row({ taskStatus: 'assigned', taskAttempt: 3 })])).toEqual([
      { invariant: 'children', executionId: 'exec_child', detail: 'running but its parent task is assigned at attempt 3, not waiting at attempt 2' },
    ]);
    expect(childViolations([row({ taskStatus: 'in_progress', taskAttempt: 3 })])).toHaveLength(1);
    expect(childViolations([row({ taskStatus: null, taskAttempt: null })])[0]?.detail).toBe('running but its parent task is gone at attempt -, not waiting at attempt 2');
  });

  it('fires on a child still running (or paused) after its parent ended', () => {
    expect(childViolations([row({ status: 'paused', parentFinished: true, parentStatus: 'failed', taskStatus: 'skipped' })])).toEqual([
      { invariant: 'children', executionId: 'exec_child', detail: 'paused but its parent exec_parent has ended (failed)' },
    ]);
  });
});
