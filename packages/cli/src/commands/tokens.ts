import type { StrataRestClient } from '@strata/client';
import { type Command, InvalidArgumentError } from 'commander';
import { clientFor, type Context } from '../context.ts';
import { CliError } from '../errors.ts';
import type { Run } from '../program.ts';
import { table, when } from '../table.ts';

interface SessionOptions {
  email?: string;
  password?: string;
}

const SESSION_HELP = '\nAPI tokens are managed from a signed-in session (a token cannot mint tokens): each call asks for your password (or takes --email/--password) and signs out again.';

export function registerTokens(program: Command, run: Run) {
  const tokens = program.command('tokens').description('create, list and revoke your API tokens').addHelpText('after', SESSION_HELP);
  const withSession = (command: Command) =>
    command.option('--email <email>', 'your account email (default: the one `strata login` saved)').option('--password <password>', 'your password (asked without echo when missing)');

  withSession(tokens.command('create').description('create an API token; its secret is shown once').requiredOption('--name <name>', 'a name to recognise it by'))
    .option('--bound', 'bind it to the workspace in force: it reaches that workspace only')
    .option('--expires-in-days <days>', 'expire it after this many days', (value) => positiveInt(value, '--expires-in-days'))
    .action(
      run<SessionOptions & { name: string; bound?: boolean; expiresInDays?: number }>(async (ctx, _args, options) => {
        const workspaceId = options.bound ? (await ctx.settings()).workspace : undefined;
        if (options.bound && !workspaceId) throw new CliError('--bound needs a workspace: pass --workspace <id>.');
        const created = await inSession(ctx, options, (client) =>
          client.createToken({ name: options.name, ...(workspaceId ? { workspaceId } : {}), ...(options.expiresInDays ? { expiresInDays: options.expiresInDays } : {}) }),
        );
        ctx.output(created, () => {
          ctx.say(`Created ${created.id} (${created.name})${created.workspaceId ? `, bound to ${created.workspaceId}` : ''}${created.expiresAt ? `, expires ${when(created.expiresAt)}` : ''}.`);
          ctx.say('Its secret, shown this once:');
          ctx.say(created.token);
        });
      }),
    );

  withSession(tokens.command('list').description('list your API tokens (never their secrets)')).action(
    run<SessionOptions>(async (ctx, _args, options) => {
      const { tokens: list } = await inSession(ctx, options, (client) => client.listTokens());
      ctx.output({ tokens: list }, () => {
        if (list.length === 0) return ctx.say('No API tokens.');
        ctx.say(
          table(
            ['ID', 'NAME', 'WORKSPACE', 'CREATED', 'LAST USED', 'EXPIRES', 'REVOKED'],
            list.map((t) => [t.id, t.name, t.workspaceId, when(t.createdAt), when(t.lastUsedAt), when(t.expiresAt), when(t.revokedAt)]),
          ),
        );
      });
    }),
  );

  withSession(tokens.command('revoke').description('revoke an API token: it stops working at once').argument('<token-id>', 'the token id (tok_...)')).action(
    run<SessionOptions>(async (ctx, [tokenId], options) => {
      const answer = await inSession(ctx, options, (client) => client.revokeToken(tokenId!));
      ctx.output(answer, () => ctx.say(`Revoked ${answer.id}.`));
    }),
  );
}

/** Signs in for one call and out again. */
async function inSession<T>(ctx: Context, options: SessionOptions, call: (client: StrataRestClient) => Promise<T>): Promise<T> {
  const settings = await ctx.settings();
  if (!settings.url) throw new CliError('No server: run `strata login`, or pass --url or set STRATA_URL.');
  const email = options.email ?? settings.config.email ?? (await ctx.prompter.ask('Email: '));
  if (!email) throw new CliError('An email is required (--email).');
  const password = options.password ?? (await ctx.prompter.askSecret(`Password for ${email}: `));
  const session = await clientFor(settings.url).login(email, password);
  const client = clientFor(settings.url, session.token);
  try {
    return await call(client);
  } finally {
    await client.logout().catch(() => undefined);
  }
}

/** An option's value parser: commander prints the refusal with the usage. */
export function positiveInt(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`${name} must be a positive whole number.`);
  return number;
}
