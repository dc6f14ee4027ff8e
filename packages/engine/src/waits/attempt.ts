import { sql } from 'drizzle-orm';
import { type ExecutionLockRow, lockExecutions, type Tx } from '../tx.ts';

/** The attempt an agent runs: what an engine call made on its behalf is fenced by. */
export interface AttemptRef {
  id: string;
  executionId: string;
  workspaceId: string;
  attempt: number;
  jobId?: string | undefined;
}

/** The attempt asking no longer holds its task (its lease was lost, a newer attempt runs): whatever it does next is discarded. */
export class SupersededAttempt extends Error {
  constructor() {
    super('This attempt no longer holds its task');
    this.name = 'SupersededAttempt';
  }
}

/**
 * Locks the task's execution and checks that this attempt still runs the task (in progress
 * under its job, not waiting): an engine call an agent makes writes nothing for a stale attempt.
 */
export async function holdingAttempt(tx: Tx, task: AttemptRef): Promise<ExecutionLockRow> {
  const locked = await lockExecutions(tx, [task.executionId]);
  const execution = locked.get(task.executionId);
  const [held] = await tx.execute(sql`
    select 1 from tasks where id = ${task.id} and attempt = ${task.attempt} and status = 'in_progress' and wake_at is null
      ${task.jobId ? sql`and job_id = ${task.jobId}` : sql``}`);
  if (!execution || !held) throw new SupersededAttempt();
  return execution;
}
