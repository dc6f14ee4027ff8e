import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** Prefix of the embedded servers' data folders in the temporary directory. */
export const DATA_DIR_PREFIX = 'strata-test-pg-';

/** What an owner asks of its guardian (guardian.ts). */
export type GuardianOrder =
  /** A test run: no serverUrl means "start an embedded server"; with one, drop the run's databases there at the end. */
  | { kind: 'run'; runId: string; serverUrl?: string }
  /** A test's own temporary folder: at the end, stop any PostgreSQL running on a data folder in it, then remove it. */
  | { kind: 'folder'; folder: string };

/** The guardian's one line once it is ready, or why it is not. */
export interface GuardianReport {
  url?: string;
  dataDir?: string;
  error?: string;
}

export interface Guardian {
  report: GuardianReport;
  pid: number;
  /** Tells the guardian the owner is done, and waits until it has cleaned up and exited. */
  close(): Promise<void>;
}

const GUARDIAN = fileURLToPath(new URL('./guardian.ts', import.meta.url));

/** Starts a guardian bound to this process by a pipe: it cleans up when we close it or die. */
export async function startGuardian(order: GuardianOrder, env: NodeJS.ProcessEnv = process.env): Promise<Guardian> {
  const child = spawn(process.execPath, [GUARDIAN, JSON.stringify(order)], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.on('error', () => {}); // a guardian that already exited
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const report = await new Promise<GuardianReport>((resolve) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as GuardianReport);
    });
    child.once('exit', (code) => resolve({ error: `the test guardian exited (${code}) before it was ready: ${stderr.trim()}` }));
  });
  // It must not keep the owner's event loop alive; the pipe's write end is the owner's lifeline to it.
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  const stdin = child.stdin as Writable & { ref?: () => void; unref?: () => void };
  stdin.unref?.();
  let closing: Promise<void> | undefined;
  return {
    report,
    pid: child.pid ?? 0,
    close: () => {
      closing ??= (async () => {
        // Held again until the guardian has finished, or the owner would exit before it.
        child.ref();
        stdin.ref?.();
        child.stdin.end();
        await exited;
      })();
      return closing;
    },
  };
}
