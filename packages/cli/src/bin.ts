#!/usr/bin/env node
/** The `strata` command (`pnpm strata …` from the repository). */
import { assertRuntime } from '@strata/config/runtime';

assertRuntime();

const { ConfigError, parseCliEnv } = await import('@strata/config');
const { runCli } = await import('./program.ts');

let env: ReturnType<typeof parseCliEnv>;
try {
  env = parseCliEnv();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`strata: ${error.message}\n`);
  process.exit(1);
}
process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env });
