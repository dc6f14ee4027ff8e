import { resolve } from 'node:path';
import { childEnv, resolveLogFormat } from '@strata/config';
import { boot } from './boot.ts';
import { supervise, type AppSpec } from './supervisor.ts';

/**
 * Boots the database, then runs the given apps as one process tree. `mode` is the apps'
 * NODE_ENV unless the user set one: `pnpm start` runs in production (no stack traces in
 * answers), `pnpm dev` in development.
 */
export async function run(options: { apps: (port: number) => AppSpec[]; seed: boolean; announce: boolean; mode: 'production' | 'development' }): Promise<void> {
  const { config, logger, database } = await boot({ seed: options.seed });
  supervise({
    apps: options.apps(config.PORT),
    // Relative agent module paths mean the directory Strata was started from, not each app's.
    // The apps write to this process's stdout: they log in the format it settled on (pretty on a terminal).
    env: childEnv(
      {
        DATABASE_URL: database.url,
        STRATA_AGENT_MODULES: config.STRATA_AGENT_MODULES.map((m) => (m.startsWith('.') ? resolve(m) : m)).join(','),
        LOG_FORMAT: resolveLogFormat(config.LOG_FORMAT),
      },
      { NODE_ENV: options.mode },
    ),
    logger,
    stopTimeoutMs: config.WORKER_SHUTDOWN_TIMEOUT_MS + 5_000,
    afterStop: () => database.stop(),
  });
  if (options.announce) void announceWhenReady(config.PORT, logger);
}

async function announceWhenReady(port: number, logger: { info: (m: string) => void; warn: (m: string) => void }) {
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (response.ok) {
        logger.info(`Strata is ready at ${url}`);
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  logger.warn(`Strata's web app did not answer on ${url}/api/health within two minutes`);
}
