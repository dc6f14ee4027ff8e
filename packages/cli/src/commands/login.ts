import { hostname } from 'node:os';
import type { WorkspaceMembership } from '@strata/client';
import type { Command } from 'commander';
import { clientFor, type Context } from '../context.ts';
import type { Run } from '../program.ts';
import { CliError } from '../errors.ts';
import { normalizeUrl, type Source, writeConfigFile } from '../settings.ts';

const DEFAULT_URL = 'http://localhost:3008';

interface LoginOptions {
  email?: string;
  password?: string;
  tokenName?: string;
}

/**
 * Signs in with email and password, trades the session for a personal API token (the session
 * is closed again), and writes server, token and default workspace to the config file.
 */
export function registerLogin(program: Command, run: Run) {
  program
    .command('login')
    .description('sign in, create a personal API token and save it (with the server and a default workspace) in the config file')
    .option('--email <email>', 'your account email (asked when missing)')
    .option('--password <password>', 'your password (asked without echo when missing; a flag shows in shell history, prefer the prompt)')
    .option('--token-name <name>', 'name of the API token to create', `strata-cli@${hostname()}`)
    .addHelpText('after', '\nThe server comes from --url, STRATA_URL, the config file, or is asked for. The default workspace from --workspace, else your only one, else a choice.')
    .action(run<LoginOptions>((ctx, _args, options) => login(ctx, options)));
}

async function login(ctx: Context, options: LoginOptions): Promise<void> {
  const settings = await ctx.settings();
  const interactive = ctx.io.stdin.isTTY === true;
  const url = normalizeUrl(settings.sources.url === 'flag' || settings.sources.url === 'env' ? settings.url! : await askUrl(ctx, settings.url ?? DEFAULT_URL));
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(`Not a server URL: ${url} (expected http://host:port or https://host).`);
  const email = options.email ?? (await ctx.prompter.ask(`Email${settings.config.email ? ` [${settings.config.email}]` : ''}: `)) ?? '';
  const account = email || settings.config.email;
  if (!account) throw new CliError('An email is required.');
  const password = options.password ?? (await ctx.prompter.askSecret('Password: '));
  if (!password) throw new CliError('A password is required.');

  const session = await clientFor(url).login(account, password);
  const signedIn = clientFor(url, session.token);
  try {
    const { workspaces } = await signedIn.listWorkspaces();
    const workspace = await chooseWorkspace(ctx, workspaces, settings.workspace, settings.sources.workspace, interactive);
    const created = await signedIn.createToken({ name: options.tokenName ?? `strata-cli@${hostname()}` });
    // The token this login replaces (same server) is revoked: one live CLI token per machine and account.
    const replaced = settings.config.url && normalizeUrl(settings.config.url) === url ? settings.config.tokenId : undefined;
    if (replaced && replaced !== created.id) await signedIn.revokeToken(replaced).catch(() => undefined);
    await writeConfigFile(settings.configPath, { url, token: created.token, tokenId: created.id, email: session.user.email, ...(workspace ? { workspace: workspace.id } : {}) });
    ctx.output({ url, email: session.user.email, tokenId: created.id, workspace: workspace?.id ?? null, configPath: settings.configPath }, () => {
      ctx.say(`Logged in to ${url} as ${session.user.email}.`);
      ctx.say(`API token ${created.id} (${created.name}) saved in ${settings.configPath} (readable by you only).`);
      ctx.say(workspace ? `Default workspace: ${workspace.name} (${workspace.id}).` : 'No default workspace: pass --workspace <id> to commands, or log in again with --workspace.');
    });
  } finally {
    await signedIn.logout().catch(() => undefined);
  }
}

async function askUrl(ctx: Context, fallback: string): Promise<string> {
  const answer = await ctx.prompter.ask(`Server URL [${fallback}]: `);
  return answer || fallback;
}

async function chooseWorkspace(ctx: Context, workspaces: WorkspaceMembership[], wanted: string | undefined, source: Source | undefined, interactive: boolean): Promise<WorkspaceMembership | undefined> {
  if (wanted) {
    const found = workspaces.find((w) => w.id === wanted || w.name === wanted);
    // A default from an earlier login that is gone is forgotten; one asked for now must exist.
    if (!found && source === 'config') return chooseWorkspace(ctx, workspaces, undefined, undefined, interactive);
    if (!found) throw new CliError(`You are not a member of workspace ${wanted}. Yours: ${workspaces.map((w) => `${w.id} (${w.name})`).join(', ') || 'none'}`);
    return found;
  }
  if (workspaces.length <= 1 || !interactive) return workspaces.length === 1 ? workspaces[0] : undefined;
  for (const [i, w] of workspaces.entries()) ctx.note(`  ${i + 1}. ${w.name} (${w.id}, ${w.role})`);
  for (;;) {
    const answer = await ctx.prompter.ask(`Default workspace [1-${workspaces.length}, empty for none]: `);
    if (!answer) return undefined;
    const chosen = workspaces[Number(answer) - 1];
    if (chosen) return chosen;
    ctx.note(`Answer a number from 1 to ${workspaces.length}.`);
  }
}
