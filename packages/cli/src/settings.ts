/**
 * Where the command line finds its server, token and workspace: flags, then the environment
 * (STRATA_URL, STRATA_TOKEN, STRATA_WORKSPACE), then the config file `strata login` writes.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CliEnv } from '@strata/config';
import { CliError } from './errors.ts';

/** What `strata login` keeps (mode 0600: it holds a token). */
export interface ConfigFile {
  url?: string;
  token?: string;
  /** The token's id, so a later login can revoke the token it replaces. */
  tokenId?: string;
  email?: string;
  workspace?: string;
}

export interface GlobalFlags {
  url?: string;
  token?: string;
  workspace?: string;
}

export type Source = 'flag' | 'env' | 'config';

export interface Settings {
  url: string | undefined;
  token: string | undefined;
  workspace: string | undefined;
  /** Where each value came from, for messages ("the token from STRATA_TOKEN was refused"). */
  sources: { url?: Source; token?: Source; workspace?: Source };
  configPath: string;
  config: ConfigFile;
}

/** `$XDG_CONFIG_HOME/strata/config.json`, else `~/.config/strata/config.json`. */
export function configPath(env: CliEnv): string {
  const base = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config');
  return join(base, 'strata', 'config.json');
}

export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`Cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`The config file ${path} is not valid JSON (${(error as Error).message}); run \`strata login\` again or fix it.`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CliError(`The config file ${path} must hold a JSON object; run \`strata login\` again.`);
  const record = value as Record<string, unknown>;
  const config: ConfigFile = {};
  for (const name of ['url', 'token', 'tokenId', 'email', 'workspace'] as const) {
    if (typeof record[name] === 'string' && record[name]) config[name] = record[name];
  }
  return config;
}

/** Writes the file readable by its owner only (0600, folder 0700), replacing it in one step. */
export async function writeConfigFile(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode only applies to a new file; make sure of it either way.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

const sameServer = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && normalizeUrl(a) === normalizeUrl(b);

export function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * Each value from the first place that has it: flag, environment, config file. The config's
 * token and workspace belong to the config's server: they are used only when the URL in force
 * is that server, so a token is never sent to a server it was not issued by.
 */
export function resolveSettings(flags: GlobalFlags, env: CliEnv, config: ConfigFile, path: string): Settings {
  const sources: Settings['sources'] = {};
  const pick = (name: keyof Settings['sources'], flag: string | undefined, fromEnv: string | undefined, fromConfig: string | undefined) => {
    const [source, value] = flag ? (['flag', flag] as const) : fromEnv ? (['env', fromEnv] as const) : fromConfig ? (['config', fromConfig] as const) : [undefined, undefined];
    if (source) sources[name] = source;
    return value;
  };
  const url = pick('url', flags.url, env.STRATA_URL, config.url);
  const ownServer = sources.url === 'config' || sameServer(url, config.url);
  const token = pick('token', flags.token, env.STRATA_TOKEN, ownServer ? config.token : undefined);
  const workspace = pick('workspace', flags.workspace, env.STRATA_WORKSPACE, ownServer ? config.workspace : undefined);
  return { url: url === undefined ? undefined : normalizeUrl(url), token, workspace, sources, configPath: path, config };
}
