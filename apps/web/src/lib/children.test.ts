import { describe, expect, it } from 'vitest';
import { type ChildRun, childrenByTask } from './children.ts';

const run = (id: string, parentTaskId: string | null, status = 'running'): ChildRun => ({ id, status, parentTaskId, strategyName: 'Sub', totalTasks: 1, completedTasks: 0, failedTasks: 0 } as ChildRun);

describe('children by task', () => {
  it('keeps the newest child of each task (the list is newest first): a retry shows its own run', () => {
    const byTask = childrenByTask([run('exec_3', 'task_a'), run('exec_2', 'task_b', 'completed'), run('exec_1', 'task_a', 'failed'), run('exec_0', null)]);
    expect([...byTask].map(([task, child]) => [task, child.id, child.status])).toEqual([
      ['task_a', 'exec_3', 'running'],
      ['task_b', 'exec_2', 'completed'],
    ]);
  });
});
