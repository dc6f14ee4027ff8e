import { definitionOfStrategy, StrataApiError, type StrataRestClient, type Strategy, type StrategyDefinitionInput } from '@strata/client';
import type { Command } from 'commander';
import type { Context } from '../context.ts';
import { editText } from '../editor.ts';
import { CliError, describeError } from '../errors.ts';
import { parseJsonObject, readJsonObject } from '../json-file.ts';
import type { Run } from '../program.ts';
import { table, when } from '../table.ts';

export function registerStrategies(program: Command, run: Run) {
  const strategies = program.command('strategies').description('list, show, create and edit strategies');

  strategies
    .command('list')
    .description('the strategies of the workspace')
    .action(
      run(async (ctx) => {
        const client = await ctx.client();
        const { strategies: list } = await client.listStrategies(await ctx.workspace(client));
        ctx.output({ strategies: list }, () => {
          if (list.length === 0) return ctx.say('No strategies in this workspace: create one with `strata strategies create <file.json>`.');
          ctx.say(table(['ID', 'NAME', 'VERSION', 'ITEMS', 'UPDATED'], list.map((s) => [s.id, s.name, s.version, s.itemCount, when(s.updatedAt)])));
        });
      }),
    );

  strategies
    .command('show')
    .description('one strategy: its fields and items (--json: the whole version)')
    .argument('<strategy>', 'a strategy id, or a name unique in the workspace')
    .option('--version <n>', 'an earlier version')
    .action(
      run<{ version?: string }>(async (ctx, [reference], options) => {
        const client = await ctx.client();
        const id = await resolveStrategyId(ctx, client, reference!);
        const { strategy } = await client.getStrategy(id, options.version ? { version: Number(options.version) } : {});
        ctx.output({ strategy }, () => showStrategy(ctx, strategy));
      }),
    );

  strategies
    .command('create')
    .description('create a strategy from a JSON file (name, description?, onTaskFailure?, inputSchema?, items)')
    .argument('<file>', 'the definition, e.g. strategy.json (`strata strategies show --json` writes one)')
    .action(
      run(async (ctx, [file]) => {
        const definition = await readJsonObject(file!);
        const client = await ctx.client();
        // An explicit workspace (flag, environment) wins over the file's, the file's over the default.
        const settings = await ctx.settings();
        const explicit = settings.sources.workspace === 'flag' || settings.sources.workspace === 'env' ? settings.workspace : undefined;
        const fromFile = typeof definition.workspaceId === 'string' ? definition.workspaceId : undefined;
        const workspaceId = explicit ?? fromFile ?? (await ctx.workspace(client));
        const { strategy } = await client.createStrategy({ ...(definition as unknown as StrategyDefinitionInput), workspaceId });
        ctx.output({ strategy }, () => ctx.say(`Created ${strategy.id} "${strategy.name}" (version ${strategy.version}, ${strategy.items.length} items) in ${strategy.workspaceId}.`));
      }),
    );

  strategies
    .command('edit')
    .description('edit a strategy as JSON in $VISUAL/$EDITOR; saving a change writes a new version')
    .argument('<strategy>', 'a strategy id, or a name unique in the workspace')
    .action(
      run(async (ctx, [reference]) => {
        const client = await ctx.client();
        const id = await resolveStrategyId(ctx, client, reference!);
        const { strategy } = await client.getStrategy(id);
        return editStrategy(ctx, client, strategy);
      }),
    );
}

/**
 * The editor loop: unchanged text saves nothing; a refusal (bad JSON, the server's 400, someone
 * else's newer version) is shown and the user may edit again from what they wrote.
 */
async function editStrategy(ctx: Context, client: StrataRestClient, strategy: Strategy): Promise<number> {
  const original = `${JSON.stringify(definitionOfStrategy(strategy), null, 2)}\n`;
  let text = original;
  for (;;) {
    text = await editText(ctx.io.env, text, `${strategy.id}.json`);
    if (text.trim() === original.trim()) {
      ctx.note('No changes: nothing saved.');
      return 0;
    }
    try {
      const definition = parseJsonObject(text, 'The edited strategy');
      const { strategy: saved } = await client.updateStrategy(strategy.id, { ...(definition as unknown as StrategyDefinitionInput), baseVersion: strategy.version });
      ctx.output({ strategy: saved }, () => ctx.say(`Saved ${saved.id} "${saved.name}" as version ${saved.version}.`));
      return 0;
    } catch (error) {
      if (!(error instanceof CliError) && !(error instanceof StrataApiError && (error.status === 400 || error.status === 409))) throw error;
      ctx.note(`strata: ${describeError(error)}`);
      const again = (await ctx.prompter.ask('Edit again? [Y/n] ').catch(() => 'n')).toLowerCase();
      if (again === 'n' || again === 'no') {
        ctx.note('Nothing saved.');
        return 1;
      }
    }
  }
}

function showStrategy(ctx: Context, strategy: Strategy) {
  ctx.say(`${strategy.name} (${strategy.id})`);
  if (strategy.description) ctx.say(strategy.description);
  ctx.say(`version ${strategy.version} of ${strategy.latestVersion} · on task failure: ${strategy.onTaskFailure} · workspace ${strategy.workspaceId}${strategy.maxConcurrency ? ` · at most ${strategy.maxConcurrency} tasks at once` : ''}`);
  if (strategy.inputSchema) ctx.say(`input: ${JSON.stringify(strategy.inputSchema)}`);
  ctx.say();
  ctx.say(
    table(
      ['KEY', 'AGENT', 'PRIORITY', 'DEPENDS ON', 'DESCRIPTION'],
      strategy.items.map((item) => [item.key, item.agentType, item.priority, item.dependsOn.join(','), item.description]),
    ),
  );
}

/** An id as it is; else the one strategy of the workspace with that name. */
export async function resolveStrategyId(ctx: Context, client: StrataRestClient, reference: string): Promise<string> {
  if (/^strat_/.test(reference)) return reference;
  const workspaceId = await ctx.workspace(client);
  const { strategies } = await client.listStrategies(workspaceId);
  const exact = strategies.filter((s) => s.name === reference);
  const matches = exact.length > 0 ? exact : strategies.filter((s) => s.name.toLowerCase() === reference.toLowerCase());
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new CliError(`No strategy named "${reference}" in workspace ${workspaceId} (\`strata strategies list\` shows them).`);
  throw new CliError(`${matches.length} strategies are named "${reference}": use an id (${matches.map((s) => s.id).join(', ')}).`);
}
