import { assertRuntime } from '@strata/config/runtime';
import { createLogger, loadConfigOrExit, type Config, type Logger } from '@strata/config';
import { resolveDatabase, runMigrations, type ResolvedDatabase } from '@strata/db';
import { DEMO_EMAIL, seedDemo } from './demo.ts';

export interface Booted {
  config: Config;
  logger: Logger;
  database: ResolvedDatabase;
}

/** Everything before the apps start: runtime check, configuration, database, migrations. */
export async function boot(options: { seed: boolean }): Promise<Booted> {
  assertRuntime();
  const config = loadConfigOrExit();
  const logger = createLogger('strata', config.LOG_LEVEL);
  let database: ResolvedDatabase;
  try {
    database = await resolveDatabase(config, (message) => logger.info(message));
  } catch (error) {
    logger.fatal({ err: error }, 'could not start the database');
    process.exit(1);
  }
  try {
    await runMigrations(database.url);
    logger.info('database migrated');
    if (options.seed && config.STRATA_DEMO) {
      const password = config.STRATA_DEMO_PASSWORD ?? 'strata-demo';
      const { created } = await seedDemo(database.url, password, config);
      if (created) logger.info(`demo workspace created: log in as ${DEMO_EMAIL} / ${password}`);
    }
  } catch (error) {
    logger.fatal({ err: error }, 'could not prepare the database');
    await database.stop();
    process.exit(1);
  }
  return { config, logger, database };
}
