import { describe, expect, it } from 'vitest';
import { applyStreamEvent, type BridgeEvent, createInitialState, type ExecutionState } from './bridge-state.ts';

const EXEC = 'exec_1_a';
let nextId = 1;
const ev = (type: string, data: Record<string, unknown> = {}): BridgeEvent => ({
  id: nextId++,
  type,
  executionId: EXEC,
  timestamp: `2025-11-26T20:00:${String(nextId).padStart(2, '0')}Z`,
  data,
});

function snapshot(): ExecutionState {
  return applyStreamEvent(
    createInitialState(EXEC),
    ev('state', {
      execution: { id: EXEC, status: 'running', strategyId: 's', startedAt: '2025-11-26T20:00:00Z', completedAt: null, totalTasks: 3, completedTasks: 1, failedTasks: 0 },
      health: { score: 95, completionRate: 0.33, errorRate: 0, lastChecked: '2025-11-26T20:00:00Z', issues: [] },
      tasks: [
        { id: 'a', status: 'completed', agent_type: 'email', retry_count: 0, max_retries: 3 },
        { id: 'b', status: 'pending', agent_type: 'content', retry_count: 0, max_retries: 3 },
        { id: 'c', status: 'pending', agent_type: 'research', retry_count: 0, max_retries: 3 },
      ],
      metrics: { totalDuration: 1000, averageTaskDuration: 1000 },
    }),
  );
}

const apply = (state: ExecutionState, ...events: BridgeEvent[]) => events.reduce(applyStreamEvent, state);

describe('applyStreamEvent', () => {
  it('keeps a task waiting for approval in progress, with what it asks and then what was answered', () => {
    const asked = { status: 'waiting_for_approval', prompt: 'Ship?', timeoutAt: null, onTimeout: 'reject' };
    const waiting = apply(
      snapshot(),
      ev('task-progress', { taskId: 'b', status: 'in_progress', attempt: 1, workerId: 'w' }),
      ev('task-progress', { taskId: 'b', ...asked, waitingUntil: '2025-12-26T20:00:00.000Z', progress: { ...asked, waitingUntil: '2025-12-26T20:00:00.000Z' } }),
    );
    expect(waiting.tasks[1]).toMatchObject({ status: 'in_progress', wake_at: '2025-12-26T20:00:00.000Z', progress: { status: 'waiting_for_approval', prompt: 'Ship?' } });
    const answered = { status: 'approval_answered', prompt: 'Ship?', approved: true, by: { id: 'usr_1', name: 'Ada', email: 'ada@example.com' }, comment: null };
    const after = apply(waiting, ev('task-progress', { taskId: 'b', ...answered, progress: answered }));
    expect(after.tasks[1]).toMatchObject({ status: 'in_progress', wake_at: '2025-12-26T20:00:00.000Z', progress: { status: 'approval_answered', approved: true } });
  });

  it("keeps the results events brought when a later state leaves results out, and takes a state's own", () => {
    const before = apply(
      snapshot(),
      ev('task-completed', { taskId: 'b', result: { text: 'done' } }),
      ev('task-completed', { taskId: 'c', resultOmitted: true }),
    );
    const tasks = [
      { id: 'a', status: 'completed', agent_type: 'email' },
      { id: 'b', status: 'completed', agent_type: 'content' },
      { id: 'c', status: 'completed', agent_type: 'research' },
    ];
    const lean = applyStreamEvent(before, ev('state', { execution: { id: EXEC, status: 'completed' }, health: { score: 100 }, tasks, metrics: {} }));
    expect(lean.tasks.map((t) => [t.id, t.result, t.result_omitted])).toEqual([
      ['a', undefined, undefined],
      ['b', { text: 'done' }, undefined],
      ['c', undefined, true],
    ]);
    const withResults = applyStreamEvent(before, ev('state', { execution: { id: EXEC, status: 'completed' }, health: { score: 100 }, tasks: tasks.map((t) => ({ ...t, result: t.id })), metrics: {} }));
    expect(withResults.tasks.map((t) => t.result)).toEqual(['a', 'b', 'c']);
    // A task that is no longer completed (a snapshot from before, or a rerun) keeps nothing.
    const pending = applyStreamEvent(before, ev('state', { execution: { id: EXEC, status: 'running' }, health: { score: 100 }, tasks: [{ id: 'b', status: 'pending' }], metrics: {} }));
    expect(pending.tasks).toEqual([{ id: 'b', status: 'pending' }]);
  });

  it("keeps the execution's version, trigger and input from the state through the events that follow", () => {
    const origin = { strategyVersion: 2, trigger: 'retry', scheduleId: null, retryOf: 'exec_0_z', input: { recipient: 'ana@example.com' } } as const;
    const start = applyStreamEvent(
      createInitialState(EXEC),
      ev('state', { execution: { id: EXEC, status: 'running', strategyId: 's', totalTasks: 1, completedTasks: 0, failedTasks: 0, ...origin }, health: { score: 100 }, tasks: [], metrics: {} }),
    );
    const after = apply(start, ev('execution-paused', {}), ev('execution-resumed', {}), ev('execution-completed', { completedTasks: 1 }));
    expect(after.execution).toMatchObject({ status: 'completed', ...origin });
  });

  it('replaces everything on state, keeping connection fields', () => {
    const before = { ...createInitialState(EXEC), connected: true, lastEventId: 7 };
    const after = applyStreamEvent(before, { ...ev('state', { execution: { id: EXEC, status: 'paused' }, health: { score: 1 }, tasks: [], metrics: {} }) });
    expect(after.execution.status).toBe('paused');
    expect(after.health).toEqual({ score: 1 });
    expect(after.connected).toBe(true);
    expect(after.lastEventId).toBe(7);
  });

  it('moves a task through assigned, in_progress (with progress) and completed, counting it once', () => {
    const s0 = snapshot();
    const assigned = apply(s0, ev('task-assigned', { taskId: 'b' }));
    expect(assigned.tasks[1]).toMatchObject({ status: 'assigned', assigned_at: expect.any(String) });
    const claimed = apply(assigned, { ...ev('task-progress', { taskId: 'b', status: 'in_progress', attempt: 1, workerId: 'w' }), timestamp: '2025-11-26T20:01:00Z' });
    expect(claimed.tasks[1]?.started_at).toBe('2025-11-26T20:01:00Z');
    const progressing = apply(claimed, ev('task-progress', { taskId: 'b', status: 'in_progress', progress: { pct: 40 } }));
    expect(progressing.tasks[1]).toMatchObject({ status: 'in_progress', progress: { pct: 40 }, started_at: claimed.tasks[1]?.started_at });
    const done = apply(progressing, ev('task-completed', { taskId: 'b' }), ev('task-completed', { taskId: 'b' }));
    expect(done.tasks[1]).toMatchObject({ status: 'completed', completed_at: expect.any(String) });
    expect(done.execution.completedTasks).toBe(2);
    // Immutable: the earlier states are untouched.
    expect(s0.tasks[1]?.status).toBe('pending');
    expect(s0.execution.completedTasks).toBe(1);
  });

  it('fails a task only when it will not be retried', () => {
    const retried = apply(snapshot(), ev('task-assigned', { taskId: 'b' }), ev('task-failed', { taskId: 'b', error: 'timeout', willRetry: true, retryCount: 1 }));
    expect(retried.tasks[1]).toMatchObject({ status: 'pending', retry_count: 1, error: 'timeout' });
    const requeued = apply(retried, ev('task-assigned', { taskId: 'b', retryCount: 1, attempt: 2 }));
    expect(requeued.tasks[1]).toMatchObject({ status: 'assigned', retry_count: 1 });
    expect(retried.execution.failedTasks).toBe(0);
    const failed = apply(requeued, ev('task-failed', { taskId: 'b', error: 'timeout again', willRetry: false, retryCount: 3 }));
    expect(failed.tasks[1]).toMatchObject({ status: 'failed', retry_count: 3, error: 'timeout again' });
    expect(failed.execution.failedTasks).toBe(1);
  });

  it('keeps why a task was skipped, and ignores a reason the contract does not know', () => {
    const s = apply(snapshot(), ev('task-failed', { taskId: 'b', status: 'skipped', willRetry: false, reason: 'dependency-failed' }), ev('task-failed', { taskId: 'c', status: 'skipped', willRetry: false, reason: 'bored' }));
    expect(s.tasks[1]).toMatchObject({ status: 'skipped', skip_reason: 'dependency-failed' });
    expect(s.tasks[2]?.skip_reason).toBeUndefined();
  });

  it('marks a task a re-run carried over as reused, with its result, counting it once even when the log is replayed over a snapshot', () => {
    const started = apply(createInitialState(EXEC), ev('execution-started', { status: 'running', strategyId: 's', totalTasks: 2, retryOf: 'exec_0_original' }));
    expect(started.execution).toMatchObject({ status: 'running', retryOf: 'exec_0_original', totalTasks: 2 });
    const carried = ev('task-completed', { taskId: 'a', agentType: 'email', status: 'completed', reused: true, originalTaskId: 'task_old', result: { sent: 1 } });
    const after = apply(started, carried);
    expect(after.tasks).toEqual([{ id: 'a', status: 'completed', completed_at: carried.timestamp, result: { sent: 1 }, reused: true }]);
    expect(after.execution.completedTasks).toBe(1);
    // A client that replays the log from its start gets the snapshot first, which already counts it.
    const snap = apply(
      createInitialState(EXEC),
      ev('state', {
        execution: { id: EXEC, status: 'running', strategyId: 's', totalTasks: 2, completedTasks: 1, failedTasks: 0, retryOf: 'exec_0_original' },
        health: { score: 100 },
        tasks: [
          { id: 'a', status: 'completed', reused: true },
          { id: 'b', status: 'assigned', reused: false },
        ],
        metrics: {},
      }),
    );
    const replayed = apply(snap, ev('execution-started', { status: 'running', strategyId: 's', totalTasks: 2, retryOf: 'exec_0_original' }), carried);
    expect(replayed.execution.completedTasks).toBe(1);
    expect(replayed.tasks.map((t) => [t.id, t.status, t.reused])).toEqual([
      ['a', 'completed', true],
      ['b', 'assigned', false],
    ]);
    // A task that ran in the re-run is not marked.
    expect(apply(replayed, ev('task-completed', { taskId: 'b', status: 'completed' })).tasks[1]).toMatchObject({ status: 'completed', reused: false });
  });

  it('adds a task the snapshot did not list', () => {
    const s = apply(snapshot(), ev('task-completed', { taskId: 'z' }));
    expect(s.tasks.at(-1)).toMatchObject({ id: 'z', status: 'completed' });
    expect(s.execution.completedTasks).toBe(2);
  });

  it('a task-failed that says skipped counts as neither failed nor completed', () => {
    const s = apply(snapshot(), ev('task-failed', { taskId: 'b', error: 'cancelled meanwhile', willRetry: false, retryCount: 1, status: 'skipped' }));
    expect(s.tasks[1]).toMatchObject({ status: 'skipped' });
    expect(s.execution.failedTasks).toBe(0);
  });

  it('a skip (cancel, failure policy) shows the task skipped at once and keeps the error it had', () => {
    const retried = apply(snapshot(), ev('task-assigned', { taskId: 'b' }), ev('task-failed', { taskId: 'b', error: 'timeout', willRetry: true, retryCount: 1 }));
    const s = apply(retried, ev('task-failed', { taskId: 'b', agentType: 'content', status: 'skipped', willRetry: false, reason: 'cancelled' }));
    expect(s.tasks[1]).toMatchObject({ status: 'skipped', error: 'timeout', retry_count: 1 });
    expect(s.execution).toMatchObject({ status: 'running', failedTasks: 0, completedTasks: 1 });
  });

  it('a task handed back while paused shows pending again, then assigned on resume', () => {
    const paused = apply(snapshot(), ev('task-assigned', { taskId: 'b' }), ev('execution-paused', { status: 'paused' }));
    const back = apply(paused, ev('task-progress', { taskId: 'b', agentType: 'content', status: 'pending', reason: 'paused' }));
    expect(back.tasks[1]).toMatchObject({ status: 'pending', wake_at: null });
    expect(apply(back, ev('task-assigned', { taskId: 'b', attempt: 2 })).tasks[1]).toMatchObject({ status: 'assigned' });
  });

  it('completion skips tasks left behind (onTaskFailure "continue" dependents)', () => {
    const s = apply(snapshot(), ev('task-failed', { taskId: 'b', error: 'x', willRetry: false, retryCount: 3 }), ev('execution-completed', { status: 'completed', completedTasks: 1, failedTasks: 1, skippedTasks: 1 }));
    expect(s.tasks.map((t) => t.status)).toEqual(['completed', 'failed', 'skipped']);
    expect(s.execution).toMatchObject({ status: 'completed', completedTasks: 1, failedTasks: 1, skippedTasks: 1 });
  });

  it('replaces health and metrics', () => {
    const s = apply(snapshot(), ev('health-update', { score: 60, issues: ['slow'] }), ev('metrics-update', { totalDuration: 5 }));
    expect(s.health).toEqual({ score: 60, issues: ['slow'] });
    expect(s.metrics).toEqual({ totalDuration: 5 });
  });

  it('follows the execution through pause, resume and completion, taking the counts the server sends', () => {
    const paused = apply(snapshot(), ev('execution-paused', { status: 'paused' }));
    expect(paused.execution.status).toBe('paused');
    const resumed = apply(paused, ev('execution-resumed', { status: 'running' }));
    expect(resumed.execution.status).toBe('running');
    const completed = apply(resumed, ev('execution-completed', { status: 'completed', completedTasks: 3, failedTasks: 0 }));
    expect(completed.execution).toMatchObject({ status: 'completed', completedTasks: 3, failedTasks: 0, completedAt: expect.any(String) });
  });

  it('cancel skips the tasks that never started', () => {
    const s = apply(snapshot(), ev('task-assigned', { taskId: 'b' }), ev('task-progress', { taskId: 'b', status: 'in_progress' }), ev('execution-cancelled', { status: 'cancelled' }));
    expect(s.execution.status).toBe('cancelled');
    expect(s.tasks.map((t) => t.status)).toEqual(['completed', 'in_progress', 'skipped']);
    expect(s.execution.completedTasks).toBe(1);
  });

  it('an error event fails the execution with its message', () => {
    const s = apply(snapshot(), ev('task-failed', { taskId: 'b', error: 'boom', willRetry: false, retryCount: 3 }), ev('error', { status: 'failed', error: 'Task b failed: boom' }));
    expect(s.execution).toMatchObject({ status: 'failed', error: 'Task b failed: boom', failedTasks: 1, completedTasks: 1 });
    expect(s.tasks.map((t) => t.status)).toEqual(['completed', 'failed', 'skipped']);
  });

  it('leaves the state alone for unknown types and task events without a taskId', () => {
    const s = snapshot();
    expect(applyStreamEvent(s, ev('something-new', { x: 1 }))).toBe(s);
    expect(applyStreamEvent(s, ev('task-completed', {}))).toBe(s);
  });
});

describe('durable waits in the bridge state', () => {
  it('records a wait from task-progress and skips a waiting task on cancel', () => {
    let state = createInitialState('exec_w');
    state = applyStreamEvent(state, {
      id: 1,
      type: 'state',
      executionId: 'exec_w',
      timestamp: '2030-01-01T00:00:00.000Z',
      data: { execution: { id: 'exec_w', status: 'running', totalTasks: 1, completedTasks: 0, failedTasks: 0 }, health: { score: 100 }, tasks: [{ id: 't1', status: 'in_progress' }], metrics: {} },
    } as never);
    state = applyStreamEvent(state, { id: 2, type: 'task-progress', executionId: 'exec_w', timestamp: '2030-01-01T00:00:01.000Z', data: { taskId: 't1', status: 'in_progress', waitingUntil: '2030-01-01T01:00:00.000Z' } } as never);
    expect(state.tasks[0]?.wake_at).toBe('2030-01-01T01:00:00.000Z');
    state = applyStreamEvent(state, { id: 3, type: 'execution-cancelled', executionId: 'exec_w', timestamp: '2030-01-01T00:00:02.000Z', data: { status: 'cancelled' } } as never);
    expect(state.tasks[0]?.status).toBe('skipped');
  });
});
