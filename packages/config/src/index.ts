import type { z } from 'zod';
import { type CliEnv, cliEnvSchema, configSchema, type Config, type TestEnv, testEnvSchema } from './schema.ts';

export { type CliEnv, cliEnvSchema, configSchema, type Config, LOG_FORMATS, type TestEnv, testEnvSchema } from './schema.ts';
export { createLogger, type LogFormat, type Logger, resolveLogFormat } from './logger.ts';
export { currentLogFields, type LogFields, withLogFields, withoutLogFields } from './log-context.ts';

/** A configuration problem, with one line per offending variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Validates an environment; throws ConfigError naming each wrong variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  return parseWith(configSchema, env);
}

/** The command line's environment, validated; throws ConfigError naming each wrong variable. */
export function parseCliEnv(env: Record<string, string | undefined> = process.env): CliEnv {
  return parseWith(cliEnvSchema, env);
}

function parseWith<T>(schema: z.ZodType<T>, env: Record<string, string | undefined>): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.');
    return `${name}: ${issue.message} (got ${JSON.stringify(env[name] ?? null)})`;
  });
  throw new ConfigError(problems);
}

/** The test run's own variables (TEST_DATABASE_URL, CHROMIUM_PATH, ...), validated the same way. */
export function parseTestEnv(env: Record<string, string | undefined>): TestEnv {
  return parseWith(testEnvSchema, env);
}

let cached: Config | undefined;

/**
 * The process's configuration, read from process.env on first use. This is the one place
 * that reads process.env; everything else receives values from here.
 */
export function loadConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Development mode (NODE_ENV=development): the only mode whose error answers carry stack traces. */
export function isDevelopment(config: Config = loadConfig()): boolean {
  return config.NODE_ENV === 'development';
}

/** For entry points: load the configuration or exit with a message naming the variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * The environment for a child process: this one's, plus the given overrides; `defaults` fill
 * only variables this environment leaves unset or empty.
 */
export function childEnv(overrides: Record<string, string> = {}, defaults: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...overrides };
  for (const [name, value] of Object.entries(defaults)) if (!env[name]) env[name] = value;
  return env;
}
