import { Command, CommanderError, Option } from 'commander';
import { registerApprovals } from './commands/approvals.ts';
import { registerExecutions } from './commands/executions.ts';
import { registerLogin } from './commands/login.ts';
import { registerStrategies } from './commands/strategies.ts';
import { registerTokens } from './commands/tokens.ts';
import { registerWorkspaces } from './commands/workspaces.ts';
import { Context, type Io } from './context.ts';

/** A command's body: positional arguments, its own options; a number it returns is the exit code (else 0). */
export type Action<O> = (ctx: Context, args: string[], options: O) => Promise<unknown>;
/** Wraps a command's body with the context and the error handling every command shares. */
export type Run = <O>(action: Action<O>) => (...commanderArgs: unknown[]) => Promise<void>;

const EXIT_HELP = `
Exit codes: 0 success; 1 an error (message on stderr). \`follow\` (and \`start --follow\`,
\`retry --follow\`): 0 the run completed, 1 it failed, 2 it was cancelled, 3 it could not be followed.

Server, token and workspace: the flags, else STRATA_URL / STRATA_TOKEN / STRATA_WORKSPACE, else
the config file \`strata login\` writes ($XDG_CONFIG_HOME/strata/config.json or ~/.config/strata/config.json).`;

/** Runs the command line on `argv` (without node and the script) and answers the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let exitCode = 0;
  let ctx: Context | undefined;
  const program = new Command('strata')
    .description('Strata from the terminal: strategies, executions, live progress, approvals and API tokens.')
    .addOption(new Option('--url <url>', 'the Strata server, e.g. http://localhost:3008'))
    .addOption(new Option('--token <token>', 'an API token'))
    .addOption(new Option('-w, --workspace <id>', 'the workspace to act in'))
    .option('--json', 'machine-readable output on stdout (errors stay on stderr)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  const run: Run =
    (action) =>
    async (...commanderArgs) => {
      const command = commanderArgs.at(-1) as Command;
      const options = commanderArgs.at(-2) as never;
      const args = commanderArgs.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
      ctx = new Context(io, command.optsWithGlobals());
      try {
        const result = await action(ctx, args, options);
        exitCode = typeof result === 'number' ? result : 0;
      } catch (error) {
        io.stderr.write(`strata: ${await ctx.describe(error)}\n`);
        exitCode = typeof (error as { exitCode?: unknown }).exitCode === 'number' ? (error as { exitCode: number }).exitCode : 1;
      } finally {
        ctx.close();
      }
    };

  registerLogin(program, run);
  registerWorkspaces(program, run);
  registerStrategies(program, run);
  registerExecutions(program, run);
  registerApprovals(program, run);
  registerTokens(program, run);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    throw error;
  }
  return exitCode;
}
