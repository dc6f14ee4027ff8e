import type { StrataRestClient } from '@strata/client';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import type { Run } from '../program.ts';

export function registerApprovals(program: Command, run: Run) {
  for (const [verb, description] of [
    ['approve', 'approve a task waiting for approval: it completes and its dependents run'],
    ['reject', 'reject a task waiting for approval: it fails without retries'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<execution>', 'the execution id (exec_...)')
      .argument('<task>', 'the task id (task_...) or its item key')
      .option('--comment <text>', 'kept with the answer and given to the task')
      .action(
        run<{ comment?: string }>(async (ctx, [executionId, task], options) => {
          const client = await ctx.client();
          const taskId = await resolveTaskId(client, executionId!, task!);
          const comment = options.comment === undefined ? {} : { comment: options.comment };
          const answer = verb === 'approve' ? await client.approveTask(executionId!, taskId, comment) : await client.rejectTask(executionId!, taskId, comment);
          ctx.output(answer, () => ctx.say(`${answer.message} (${taskId}: ${answer.approval.status}).`));
        }),
      );
  }
}

/** A task id as it is; else the execution's task running that item key. */
async function resolveTaskId(client: StrataRestClient, executionId: string, task: string): Promise<string> {
  if (/^task_/.test(task)) return task;
  const { tasks } = await client.getStatus(executionId, { include: ['detail'] });
  const found = tasks.find((t) => t.key === task);
  if (!found) throw new CliError(`Execution ${executionId} has no task with key "${task}" (keys: ${tasks.map((t) => t.key).join(', ')}).`);
  return found.id;
}
