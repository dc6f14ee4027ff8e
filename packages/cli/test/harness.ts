/**
 * The command line's test harness: a real web process over the test's database (the worker runs
 * in the test, with the agents it supplies), and `strata` run as a child process on the
 * workspace's Node, in a home folder of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningWeb, startWeb as startWebProcess } from '../../../apps/web/test/server.ts';

const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

// The built web app as its own process, started by the web app's own test helper.
export { freePort, type RunningWeb } from '../../../apps/web/test/server.ts';

/** The built web app over the test's database, its rate limits out of the way of the scripted calls. */
export function startWeb(databaseUrl: string): Promise<RunningWeb> {
  const limits = Object.fromEntries(['RATE_LIMIT_START_PER_MIN', 'RATE_LIMIT_STATUS_PER_MIN', 'RATE_LIMIT_CONTROL_PER_MIN'].map((name) => [name, '1000']));
  return startWebProcess({ DATABASE_URL: databaseUrl, ...limits });
}

/** A home for one user of the command line: its own HOME and XDG_CONFIG_HOME. */
export interface Home {
  dir: string;
  configFile: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function makeHome(): Promise<Home> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cli-'));
  return {
    dir,
    configFile: join(dir, 'xdg', 'strata', 'config.json'),
    env: { HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg') },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface StrataRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) has matched. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<void>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();

/**
 * `strata <args>` as a child process on this Node (the workspace's 24), with only the
 * environment given (plus PATH): no STRATA_* of the machine leaks in. `input` is written to its
 * stdin, which then ends.
 */
export function strata(args: string[], options: { env: Record<string, string>; input?: string }): StrataRun {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; stream: 'stdout' | 'stderr'; resolve(): void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(waiter.stream === 'stdout' ? out : err)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout!.on('data', (d) => {
    out += d;
    check();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    check();
  });
  child.stdin!.end(options.input ?? '');
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, stdout: out, stderr: err });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, stream = 'stdout') =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, stream, resolve });
        check();
        void done.then(() => {
          if (waiters.some((w) => w.resolve === resolve)) reject(new Error(`strata ${args.join(' ')} exited before ${stream} matched ${pattern}:\n${out}\n${err}`));
        });
      }),
    done,
  };
}

/** Runs `strata` to its end. */
export function strataDone(args: string[], options: { env: Record<string, string>; input?: string }) {
  return strata(args, options).done;
}

/** Ends any `strata` child a failed test left running. */
export function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** One REST call, for setting up what the command line then reads. */
export async function api<T = Record<string, unknown>>(baseUrl: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** A new account with one workspace; answers its session token and workspace id. */
export async function account(baseUrl: string, email: string, password: string, workspaceName: string) {
  const signup = await api<{ token: string }>(baseUrl, '/api/auth/signup', { body: { email, password } });
  if (signup.status !== 201) throw new Error(`signup failed: ${JSON.stringify(signup.body)}`);
  const workspace = await api<{ workspace: { id: string } }>(baseUrl, '/api/workspaces', { body: { name: workspaceName }, token: signup.body.token });
  return { token: signup.body.token, workspaceId: workspace.body.workspace.id };
}
