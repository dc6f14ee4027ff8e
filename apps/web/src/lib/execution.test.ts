import type { AgentTask } from '@strata/client';
import { describe, expect, it } from 'vitest';
import { attemptsView, canRetry, connectionLabel, healthTone, progressOf, resultUnknown, runStatusView, skipReasonText, taskOutput } from './execution.ts';
import { TimelineBuilder } from './execution-timeline.ts';

const task = (fields: Partial<AgentTask> & { status: string }): AgentTask => ({ id: 'task_1', key: 'k', agent_type: 'content', retry_count: 0, max_retries: 3, ...fields });

describe('how an execution reads', () => {
  it('never shows a failed or cancelled run, or one with failed tasks, as healthy', () => {
    expect(healthTone(95, { status: 'failed', failedTasks: 1 }).tone).toBe('danger');
    expect(healthTone(100, { status: 'cancelled', failedTasks: 0 }).tone).toBe('warn');
    expect(healthTone(82, { status: 'completed', failedTasks: 2 }).tone).toBe('warn');
    expect(healthTone(59, { status: 'running', failedTasks: 0 }).tone).toBe('warn');
    expect(healthTone(29, { status: 'running', failedTasks: 0 }).tone).toBe('danger');
    expect(healthTone(60, { status: 'running', failedTasks: 0 })).toEqual({ tone: 'ok', label: 'healthy' });
  });

  it('never shows a completed run with failed or skipped tasks as a plain green completed', () => {
    expect(runStatusView({ status: 'completed', failedTasks: 2 })).toEqual({ label: 'completed · 2 failed', tone: 'warn' });
    expect(runStatusView({ status: 'completed', failedTasks: 0 }, 1)).toEqual({ label: 'completed · 1 skipped', tone: 'warn' });
    expect(runStatusView({ status: 'completed', failedTasks: 0 })).toEqual({ label: 'completed', tone: 'ok' });
  });

  it('says what a failure came to without contradicting the retries', () => {
    expect(attemptsView(task({ status: 'failed', retry_count: 0, started_at: 'x' }))).toEqual({ text: '1 of 4', detail: 'failed without retrying: the error cannot be fixed by retrying' });
    expect(attemptsView(task({ status: 'failed', retry_count: 3, started_at: 'x' }))).toEqual({ text: '4 of 4', detail: 'failed after 4 attempts, no retry left' });
    expect(attemptsView(task({ status: 'pending', retry_count: 1 }))).toEqual({ text: '2 of 4', detail: 'retry 1 of 3' });
    expect(attemptsView(task({ status: 'pending' }))).toEqual({ text: '0 of 4', detail: null });
  });

  it('says a task a re-run carried over made no attempt', () => {
    expect(attemptsView(task({ status: 'completed', reused: true }))).toEqual({ text: '—', detail: 'carried over, not run again' });
    expect(attemptsView(task({ status: 'completed', reused: false, started_at: 'x' }))).toEqual({ text: '1 of 4', detail: null });
  });

  it('offers a re-run of failed and cancelled runs once they have settled, of nothing else', () => {
    const at = '2026-01-01T00:00:00Z';
    expect(canRetry({ status: 'failed', completedAt: at })).toBe(true);
    expect(canRetry({ status: 'cancelled', completedAt: at })).toBe(true);
    // Failed, but a task that was running still finishes: the engine refuses until it has.
    expect(canRetry({ status: 'failed', completedAt: null })).toBe(false);
    for (const status of ['pending', 'running', 'paused', 'completed']) expect(canRetry({ status, completedAt: at })).toBe(false);
  });

  it('says why a task was skipped', () => {
    expect(skipReasonText(task({ status: 'skipped', skip_reason: 'dependency-failed' }))).toBe('a task it depends on failed');
    expect(skipReasonText(task({ status: 'skipped' }))).toBe('it did not run');
    expect(skipReasonText(task({ status: 'completed' }))).toBeNull();
  });

  it('counts progress from the live tasks', () => {
    const tasks = ['completed', 'completed', 'failed', 'skipped', 'in_progress', 'pending'].map((status, i) => task({ id: `t${i}`, status }));
    expect(progressOf({ execution: { id: 'e', status: 'running', totalTasks: 6, completedTasks: 1, failedTasks: 0 }, tasks })).toEqual({ total: 6, completed: 2, failed: 1, skipped: 1, running: 1, done: 4 / 6 });
  });

  it('reads a lost stream as lost, and a fresh one as connecting', () => {
    const state = { connected: false, finished: false, transport: 'websocket', connectionError: null };
    expect(connectionLabel(null, null).tone).toBe('idle');
    expect(connectionLabel(state, null)).toEqual({ text: 'connection lost · reconnecting…', tone: 'problem' });
    expect(connectionLabel({ ...state, connected: true }, null)).toEqual({ text: 'live · WebSocket', tone: 'live' });
    expect(connectionLabel({ ...state, connected: true, execution: { status: 'completed', completedAt: '2026-01-01T00:00:00Z' } }, null)).toEqual({ text: 'finished', tone: 'idle' });
    expect(connectionLabel({ ...state, connected: true, execution: { status: 'cancelled', completedAt: null } }, null).tone).toBe('live');
  });

  it('renders each agent output for what it is', () => {
    expect(taskOutput(task({ status: 'completed', agent_type: 'scheduling', result: { ics: 'BEGIN:VCALENDAR', filename: 'x', events: [{}] } }))).toEqual({ kind: 'calendar', ics: 'BEGIN:VCALENDAR', filename: 'x.ics', events: 1 });
    expect(taskOutput(task({ status: 'completed', agent_type: 'analysis', result: { table: { columns: ['a'], rows: [[1]] } } }))).toEqual({ kind: 'table', columns: ['a'], rows: [[1]] });
    expect(taskOutput(task({ status: 'completed', agent_type: 'email', result: { delivered: 'outbox', outboxId: 'm1', to: ['a@x'], subject: 'Hi' } }))).toMatchObject({ kind: 'email', outboxId: 'm1', subject: 'Hi' });
    expect(taskOutput(task({ status: 'completed', agent_type: 'research', result: { sources: [{ url: 'http://x', title: 'X', text: 'body' }] } }))).toMatchObject({ kind: 'research', sources: [{ url: 'http://x', title: 'X', excerpt: 'body' }] });
    expect(taskOutput(task({ status: 'completed', result: 7 }))).toEqual({ kind: 'json', value: 7 });
    expect(taskOutput(task({ status: 'pending', result: null }))).toEqual({ kind: 'none' });
  });
});

describe('the timeline', () => {
  const ev = (id: number, type: string, data: Record<string, unknown>, second: number) => ({ id, type, executionId: 'e', timestamp: `2026-01-01T00:00:${String(second).padStart(2, '0')}Z`, data });

  it('draws a bar per attempt with its queued, running, waiting and end times, and replaces only the rows that changed', () => {
    const timeline = new TimelineBuilder();
    const events = [
      ev(1, 'task-assigned', { taskId: 'a' }, 0),
      ev(2, 'task-progress', { taskId: 'a', status: 'in_progress', attempt: 1 }, 1),
      ev(3, 'task-failed', { taskId: 'a', willRetry: true }, 2),
      ev(4, 'task-assigned', { taskId: 'a' }, 3),
      ev(5, 'task-progress', { taskId: 'a', status: 'in_progress', attempt: 2 }, 4),
      ev(6, 'task-progress', { taskId: 'a', status: 'in_progress', waitingUntil: '2026-01-01T00:01:00Z' }, 5),
    ];
    timeline.add(events);
    const before = timeline.rows;
    events.push(ev(7, 'task-progress', { taskId: 'a', status: 'in_progress', attempt: 2 }, 8), ev(8, 'task-completed', { taskId: 'a' }, 9), ev(9, 'task-failed', { taskId: 'b', status: 'skipped', reason: 'cancelled' }, 9));
    timeline.add(events);
    const [a, b] = timeline.rows;
    expect(a).not.toBe(before[0]);
    const at = (second: number) => Date.parse(`2026-01-01T00:00:${String(second).padStart(2, '0')}Z`);
    expect(a!.bars).toEqual([
      { taskId: 'a', attempt: 1, queuedAt: at(0), startedAt: at(1), waits: [], endedAt: at(2), end: 'retry' },
      { taskId: 'a', attempt: 2, queuedAt: at(3), startedAt: at(4), waits: [[at(5), at(8)]], endedAt: at(9), end: 'completed' },
    ]);
    expect(b!.bars).toEqual([{ taskId: 'b', attempt: 1, queuedAt: null, startedAt: null, waits: [], endedAt: at(9), end: 'skipped' }]);
    expect(timeline.span).toEqual({ from: at(0), to: at(9) });
  });
});

describe('the timeline of a re-run', () => {
  it('draws no bar for a task carried over (no attempt ran), and the bars of the tasks that ran', () => {
    const timeline = new TimelineBuilder();
    const ev = (id: number, type: string, data: Record<string, unknown>) => ({ id, type, executionId: 'e', timestamp: `2026-01-01T00:00:0${id}Z`, data });
    timeline.add([
      ev(1, 'execution-started', { status: 'running', retryOf: 'exec_0' }),
      ev(2, 'task-completed', { taskId: 'carried', reused: true, status: 'completed' }),
      ev(3, 'task-assigned', { taskId: 'ran' }),
      ev(4, 'task-completed', { taskId: 'ran', status: 'completed' }),
    ]);
    expect(timeline.rows.map((row) => [row.taskId, row.bars.map((bar) => bar.end)])).toEqual([['ran', ['completed']]]);
    expect(timeline.row('carried')).toBeUndefined();
  });
});

describe('resultUnknown', () => {
  it('is true for a completed task without its result or with an omitted one, false otherwise', () => {
    expect(resultUnknown({ id: 't', status: 'completed' })).toBe(true);
    expect(resultUnknown({ id: 't', status: 'completed', result: null, result_omitted: true })).toBe(true);
    expect(resultUnknown({ id: 't', status: 'completed', result: null })).toBe(false);
    expect(resultUnknown({ id: 't', status: 'completed', result: { ics: 'x' } })).toBe(false);
    expect(resultUnknown({ id: 't', status: 'failed' })).toBe(false);
    expect(resultUnknown({ id: 't', status: 'in_progress' })).toBe(false);
  });
});
