import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';

const WEB_DIR = fileURLToPath(new URL('../', import.meta.url));

/** A port free right now on loopback (get-port). */
export const freePort = (): Promise<number> => getPort({ host: '127.0.0.1' });

export interface RunningWeb {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts the built web app (server.ts over build/) as its own process; an undefined value unsets that variable. */
export async function startWeb(env: Record<string, string | undefined>): Promise<RunningWeb> {
  const port = await freePort();
  const childEnv: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info', ...env, PORT: String(port), HOST: '127.0.0.1' };
  for (const [name, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, ['server.ts'], {
    cwd: WEB_DIR,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left behind by a caller that gives up on it
      reject(new Error(`web did not start: ${output}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web exited with ${code}: ${output}`));
    });
    const check = () => {
      if (child.exitCode !== null || child.signalCode !== null) return; // already rejected
      if (output.includes('web listening')) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    url,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

/** One REST call to a running web process, with a Bearer token when given; GET without a body, POST with one unless told. */
export async function apiCall(baseUrl: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}
