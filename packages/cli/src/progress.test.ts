import { type AgentTask, createInitialState, type ExecutionState } from '@strata/client';
import { describe, expect, it } from 'vitest';
import { countByStatus, drawFrame, eventLine, failingTasks, summaryLine } from './progress.ts';

const task = (id: string, status: string, extra: Partial<AgentTask> = {}): AgentTask => ({ id, status, agent_type: 'email', description: `Task ${id}`, retry_count: 0, max_retries: 3, error: null, ...extra });

function stateWith(tasks: AgentTask[], status = 'running', score = 72): ExecutionState {
  const state = createInitialState('exec_1');
  return { ...state, execution: { ...state.execution, status, totalTasks: tasks.length, completedTasks: tasks.filter((t) => t.status === 'completed').length, failedTasks: tasks.filter((t) => t.status === 'failed').length }, health: { score }, tasks };
}

const tasks = [
  task('t1', 'completed'),
  task('t2', 'completed'),
  task('t3', 'in_progress'),
  task('t4', 'pending', { error: 'SMTP timeout', retry_count: 1 }),
  task('t5', 'failed', { error: 'bounced', retry_count: 3 }),
  task('t6', 'skipped'),
  task('t7', 'assigned'),
  task('t8', 'pending'),
];
const keys = new Map([['t5', 'send-invites']]);

describe('drawFrame', () => {
  it('draws a bar per task state, the health score and the failing tasks', () => {
    const lines = drawFrame(stateWith(tasks), { columns: 72, color: false, keys });
    expect(lines[0]).toBe('Execution exec_1  running');
    // 8 tasks over a 40-column bar: 2 completed fill 10 columns.
    expect(lines.find((l) => l.includes('completed'))).toBe(`  completed    ${'█'.repeat(10)}${'░'.repeat(30)}    2/8`);
    for (const [status, count] of Object.entries({ pending: 2, assigned: 1, in_progress: 1, failed: 1, skipped: 1 })) {
      expect(lines.find((l) => l.trimStart().startsWith(`${status} `))).toMatch(new RegExp(`\\s${count}/8$`));
    }
    expect(lines.find((l) => l.includes('health'))).toMatch(/ 72\/100$/);
    expect(lines.slice(-3)).toEqual(['Failing tasks:', '  ✗ Task t4 (email, retrying, attempt 2 of 4): SMTP timeout', '  ✗ send-invites (email, failed): bounced']);
  });

  it('colours only when asked, and caps the failing tasks listed', () => {
    const many = Array.from({ length: 12 }, (_, i) => task(`f${i}`, 'failed', { error: 'no' }));
    const plain = drawFrame(stateWith(many, 'failed', 10), { columns: 80, color: false, keys: new Map(), maxFailing: 5 });
    expect(plain.join('\n')).not.toContain('\x1b[');
    expect(plain.at(-1)).toBe('  … and 7 more');
    expect(drawFrame(stateWith(many, 'failed', 10), { columns: 80, color: true, keys: new Map() }).join('\n')).toContain('\x1b[31m');
  });
});

describe('the plain lines', () => {
  it('says what each event did, by task key when known', () => {
    const state = stateWith(tasks);
    const event = (type: string, data: Record<string, unknown>) => ({ id: 1, type, executionId: 'exec_1', timestamp: '', data });
    expect(eventLine(event('task-failed', { taskId: 't5', error: 'bounced', willRetry: false }), state, keys)).toBe('task send-invites failed: bounced');
    expect(eventLine(event('task-failed', { taskId: 't4', error: 'SMTP timeout', willRetry: true }), state, keys)).toBe('task Task t4 failed (will retry): SMTP timeout');
    expect(eventLine(event('task-completed', { taskId: 't1' }), state, keys)).toBe('task Task t1 completed (2/8 completed, 1 failed)');
    expect(eventLine(event('metrics-update', {}), state, keys)).toBeUndefined();
    expect(summaryLine(stateWith(tasks, 'failed'))).toBe('exec_1 failed: 2 completed, 1 failed, 1 skipped of 8; health 72');
  });

  it('counts every state and finds the failing tasks', () => {
    expect(countByStatus(tasks)).toEqual({ pending: 2, assigned: 1, in_progress: 1, completed: 2, failed: 1, skipped: 1 });
    expect(failingTasks(tasks).map((t) => t.id)).toEqual(['t4', 't5']);
  });
});
