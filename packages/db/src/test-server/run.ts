import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { startTestServer } from './server.ts';

/**
 * Runs `command` (turbo, for `pnpm test`) with one test database server for the whole run:
 * TEST_DATABASE_URL and STRATA_TEST_RUN_ID are set for it, so every package's global setup
 * reuses this server instead of starting its own. Resolves with the exit code to end with.
 *
 * Ctrl-C reaches the command through the terminal's process group; we only wait for it to
 * end, then clean up (the guardian does the same if we are killed first).
 */
export async function runWithTestServer(command: string, args: readonly string[], options: { log?: (line: string) => void } = {}): Promise<number> {
  const log = options.log ?? ((line: string) => console.error(line));
  const server = await startTestServer({ log });
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= signal;
    // SIGINT from a terminal already reached the command (same process group); a second one
    // would make turbo kill its tasks outright. Others are usually sent to us alone.
    if (signal !== 'SIGINT') child.kill(signal);
  };
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: server.url, STRATA_TEST_RUN_ID: server.runId },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('error', (error) => {
        log(`tests: could not run ${command}: ${error.message}`);
        resolve([127, null]);
      });
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    const endedBy = interrupted ?? signal;
    if (endedBy) return 128 + constants.signals[endedBy];
    return code ?? 1;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
    await server.close();
  }
}
