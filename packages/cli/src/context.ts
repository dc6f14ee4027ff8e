import type { CliEnv } from '@strata/config';
import { StrataRestClient } from '@strata/client';
import { CliError, describeError } from './errors.ts';
import { createPrompter, type Prompter } from './prompt.ts';
import { configPath, type GlobalFlags, readConfigFile, resolveSettings, type Settings } from './settings.ts';

/** The process around a run: streams and environment (a test passes its own). */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: CliEnv;
}

/** What every command gets: output, prompts, and the client for the server in force. */
export class Context {
  readonly io: Io;
  readonly flags: GlobalFlags & { json?: boolean };
  #settings: Settings | undefined;
  #prompter: Prompter | undefined;

  constructor(io: Io, flags: GlobalFlags & { json?: boolean }) {
    this.io = io;
    this.flags = flags;
  }

  get json(): boolean {
    return this.flags.json === true;
  }

  async settings(): Promise<Settings> {
    if (!this.#settings) {
      const path = configPath(this.io.env);
      this.#settings = resolveSettings(this.flags, this.io.env, await readConfigFile(path), path);
    }
    return this.#settings;
  }

  get prompter(): Prompter {
    this.#prompter ??= createPrompter(this.io.stdin, this.io.stderr);
    return this.#prompter;
  }

  /** A client for the server in force, with its token; explains what is missing. */
  async client(): Promise<StrataRestClient> {
    const settings = await this.settings();
    if (!settings.url) throw new CliError('No server: run `strata login`, or pass --url or set STRATA_URL.');
    if (!settings.token) throw new CliError(`No token for ${settings.url}: run \`strata login\`, or pass --token or set STRATA_TOKEN.`);
    return clientFor(settings.url, settings.token);
  }

  /** The workspace in force (flag, STRATA_WORKSPACE, the config), else the caller's only one. */
  async workspace(client: StrataRestClient): Promise<string> {
    const settings = await this.settings();
    if (settings.workspace) return settings.workspace;
    const { workspaces } = await client.listWorkspaces();
    if (workspaces.length === 1) return workspaces[0]!.id;
    if (workspaces.length === 0) throw new CliError('You are not a member of any workspace yet: create one in the dashboard.');
    throw new CliError(`Which workspace? Pass --workspace <id> (or set STRATA_WORKSPACE, or choose a default with \`strata login\`). Yours: ${workspaces.map((w) => `${w.id} (${w.name})`).join(', ')}`);
  }

  /** One line of human output on stdout (nothing in --json mode: there stdout is the JSON). */
  say(line = ''): void {
    if (!this.json) this.io.stdout.write(`${line}\n`);
  }

  /** Notes for a person on stderr: never mixed into output a script reads. */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** The machine answer of a command in --json mode. */
  printJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** `json` in --json mode, else the human lines. */
  output(value: unknown, human: () => void): void {
    if (this.json) this.printJson(value);
    else human();
  }

  async describe(error: unknown): Promise<string> {
    const settings = this.#settings;
    return describeError(error, { url: settings?.url, tokenSource: settings?.sources.token });
  }

  close(): void {
    this.#prompter?.close();
  }
}

/** The REST client as the command line uses it: quick to give up on a server that is down. */
export function clientFor(url: string, token?: string): StrataRestClient {
  return new StrataRestClient({ baseUrl: url, ...(token ? { token } : {}), maxRetries: 3, backoffMs: 300 });
}
