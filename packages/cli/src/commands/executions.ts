import type { StrataRestClient } from '@strata/client';
import { type Command, Option } from 'commander';
import type { Context } from '../context.ts';
import { follow } from '../follow.ts';
import { parseJsonObject, readJsonObject } from '../json-file.ts';
import type { Run } from '../program.ts';
import { countByStatus } from '../progress.ts';
import { table, when } from '../table.ts';
import { resolveStrategyId } from './strategies.ts';

const FOLLOW_HELP = '\nExit codes with --follow: 0 completed, 1 failed, 2 cancelled, 3 could not follow.';

export function registerExecutions(program: Command, run: Run) {
  program
    .command('start')
    .description('start an execution of a strategy')
    .argument('<strategy>', 'a strategy id, or a name unique in the workspace')
    .option('--input <json>', 'the execution\'s input: a JSON object, or @file.json')
    .option('--follow', 'then follow it live until it ends (exit code by its outcome)')
    .addHelpText('after', FOLLOW_HELP)
    .action(
      run<{ input?: string; follow?: boolean }>(async (ctx, [reference], options) => {
        const input = options.input === undefined ? undefined : options.input.startsWith('@') ? await readJsonObject(options.input.slice(1)) : parseJsonObject(options.input, '--input');
        const client = await ctx.client();
        const strategyId = await resolveStrategyId(ctx, client, reference!);
        // The strategy's own workspace: an id may name one outside the default.
        const { strategy } = await client.getStrategy(strategyId);
        const started = await client.startExecution({ strategyId, workspaceId: strategy.workspaceId, ...(input ? { input } : {}) });
        if (options.follow) {
          if (ctx.json) ctx.printJson(started);
          else ctx.note(`Started ${started.executionId} (${strategy.name}, ${started.execution.totalTasks} tasks).`);
          return follow(ctx, client, started.executionId);
        }
        ctx.output(started, () => ctx.say(`Started ${started.executionId} (${strategy.name}, ${started.execution.totalTasks} tasks). Follow it with: strata follow ${started.executionId}`));
      }),
    );

  program
    .command('status')
    .description('an execution\'s status, health and tasks')
    .argument('<execution>', 'the execution id (exec_...)')
    .action(
      run(async (ctx, [executionId]) => {
        const client = await ctx.client();
        const body = await client.getStatus(executionId!, { include: ['detail'] });
        ctx.output(body, () => showStatus(ctx, body));
      }),
    );

  program
    .command('follow')
    .description('follow an execution live: a bar per task state, the health score and the failing tasks (one line per event when stdout is not a terminal; --json: one event per line)')
    .argument('<execution>', 'the execution id (exec_...)')
    .addHelpText('after', FOLLOW_HELP)
    .action(run(async (ctx, [executionId]) => follow(ctx, await ctx.client(), executionId!)));

  for (const [verb, description] of [
    ['pause', 'pause a running execution: tasks in progress finish, nothing new starts'],
    ['resume', 'resume a paused execution'],
    ['cancel', 'cancel an execution: tasks in progress finish, the rest are skipped'],
  ] as const) {
    program
      .command(verb)
      .description(description)
      .argument('<execution>', 'the execution id (exec_...)')
      .action(
        run(async (ctx, [executionId]) => {
          const client = await ctx.client();
          const answer = await control(client, verb, executionId!);
          ctx.output(answer, () => ctx.say(`${answer.message} (${answer.execution.id} is ${answer.execution.status}).`));
        }),
      );
  }

  program
    .command('retry')
    .description('re-run a failed or cancelled execution as a new one')
    .argument('<execution>', 'the execution id (exec_...)')
    .addOption(new Option('--mode <mode>', 'failed: carry completed tasks over; all: run every task again').choices(['failed', 'all']).default('failed'))
    .option('--follow', 'then follow the new execution live')
    .addHelpText('after', FOLLOW_HELP)
    .action(
      run<{ mode: 'failed' | 'all'; follow?: boolean }>(async (ctx, [executionId], options) => {
        const client = await ctx.client();
        const answer = await client.retryExecution(executionId!, { mode: options.mode });
        if (options.follow) {
          if (ctx.json) ctx.printJson(answer);
          else ctx.note(`Started ${answer.executionId}, a re-run of ${answer.retryOf}.`);
          return follow(ctx, client, answer.executionId);
        }
        ctx.output(answer, () => ctx.say(`Started ${answer.executionId}, a re-run of ${answer.retryOf}. Follow it with: strata follow ${answer.executionId}`));
      }),
    );
}

function control(client: StrataRestClient, verb: 'pause' | 'resume' | 'cancel', executionId: string) {
  if (verb === 'pause') return client.pauseExecution(executionId);
  if (verb === 'resume') return client.resumeExecution(executionId);
  return client.cancelExecution(executionId);
}

type StatusBody = Awaited<ReturnType<StrataRestClient['getStatus']>>;

function showStatus(ctx: Context, body: StatusBody) {
  const { execution, health, tasks } = body;
  const counts = countByStatus(tasks);
  ctx.say(`Execution ${execution.id}: ${execution.status}${execution.error ? ` (${execution.error})` : ''}`);
  ctx.say(`strategy ${execution.strategyId} v${execution.strategyVersion} · started ${when(execution.startedAt)} · ended ${when(execution.completedAt)}`);
  ctx.say(`tasks: ${Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(', ')} · health ${Math.round(health.score)}/100`);
  if (health.issues.length > 0) ctx.say(`issues: ${health.issues.join('; ')}`);
  ctx.say();
  ctx.say(table(['TASK', 'KEY', 'AGENT', 'STATUS', 'RETRIES', 'ERROR'], tasks.map((t) => [t.id, t.key, t.agent_type, t.status, `${t.retry_count}/${t.max_retries}`, t.error])));
}
