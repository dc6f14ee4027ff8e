import type { BridgeEvent } from '@strata/client';
import { describe, expect, it } from 'vitest';
import { changesApprovals, detailsText, timeoutText, waitNote } from './approvals.ts';

const event = (type: string, data: Record<string, unknown>): BridgeEvent => ({ id: 1, type, executionId: 'exec_1_a', timestamp: '2026-01-01T00:00:00.000Z', data });
const by = { id: 'usr_1', name: 'Ada', email: 'ada@example.com' };

describe('how approvals read', () => {
  it('says what a waiting task is waiting for, and that an answer given while paused waits for resume', () => {
    const running = (progress: Record<string, unknown>) => ({ status: 'in_progress', progress });
    expect(waitNote(running({ status: 'waiting_for_approval', prompt: 'Ok?' }), false)).toBe('Waiting for approval');
    expect(waitNote(running({ status: 'approval_answered', approved: true, by }), true)).toBe('Approved by Ada: goes on when the execution resumes');
    expect(waitNote(running({ status: 'approval_answered', approved: false, by: { ...by, name: null } }), false)).toBe('Rejected by ada@example.com');
    expect(waitNote(running({ status: 'approval_timed_out', approved: false, by: null }), true)).toBe('Not answered in time, so rejected: goes on when the execution resumes');
    expect(waitNote(running({ status: 'waiting_for_signal', signal: 'deployed' }), false)).toBe('Waiting for the signal "deployed"');
    expect(waitNote(running({ step: 'generating' }), false)).toBeNull();
    expect(waitNote({ status: 'completed', progress: { status: 'waiting_for_approval' } }, false)).toBeNull();
  });

  it('shows details as text, and what a timeout decides', () => {
    expect(detailsText('plain words')).toBe('plain words');
    expect(detailsText({ n: 1 })).toBe('{\n  "n": 1\n}');
    expect(detailsText(null)).toBeNull();
    expect(timeoutText({ timeoutAt: null, onTimeout: 'reject' }, String)).toBeNull();
    expect(timeoutText({ timeoutAt: 'T', onTimeout: 'approve' }, (iso) => `at(${iso})`)).toBe('Approved at at(T) if unanswered');
  });

  it('reads the pending list again only for events that can change it', () => {
    const pending = [{ taskId: 'task_a' }];
    expect(changesApprovals(event('task-progress', { taskId: 'task_b', status: 'waiting_for_approval' }), pending)).toBe(true);
    expect(changesApprovals(event('task-progress', { taskId: 'task_a', status: 'approval_answered' }), pending)).toBe(true);
    expect(changesApprovals(event('task-progress', { taskId: 'task_b', status: 'in_progress' }), pending)).toBe(false);
    expect(changesApprovals(event('task-completed', { taskId: 'task_b' }), pending)).toBe(false);
    expect(changesApprovals(event('task-failed', { taskId: 'task_a' }), pending)).toBe(true);
    expect(changesApprovals(event('execution-resumed', {}), pending)).toBe(true);
    expect(changesApprovals(event('health-update', {}), pending)).toBe(false);
  });
});
