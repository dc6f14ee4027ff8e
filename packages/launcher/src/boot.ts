import { assertRuntime } from '@strata/config/runtime';
import { createLogger, loadConfigOrExit, type Config, type Logger } from '@strata/config';
import { resolveDatabase, runMigrations, type ResolvedDatabase } from '@strata/db';
import { demoHasPassword, seedDemo } from './demo.ts';
import { DEFAULT_DEMO_PASSWORD, planDemo } from './demo-policy.ts';

export interface Booted {
  config: Config;
  logger: Logger;
  database: ResolvedDatabase;
}

/** Everything before the apps start: runtime check, configuration, database, migrations. */
export async function boot(options: { seed: boolean }): Promise<Booted> {
  assertRuntime();
  const config = loadConfigOrExit();
  const logger = createLogger('strata', config.LOG_LEVEL, config.LOG_FORMAT);
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
    if (options.seed) await prepareDemo(config, logger, database.url);
  } catch (error) {
    logger.fatal({ err: error }, 'could not prepare the database');
    await database.stop();
    process.exit(1);
  }
  return { config, logger, database };
}

/** Creates the demo account where that is safe (see planDemo) and says what it did. */
async function prepareDemo(config: Config, logger: Logger, databaseUrl: string) {
  const plan = planDemo(config);
  if ('refused' in plan) throw new Error(plan.refused);
  if (plan.create) {
    const { created } = await seedDemo(databaseUrl, plan.password, config);
    if (created) logger.info(plan.announcement);
    return;
  }
  if (plan.reason === null) return;
  // An account an earlier loopback run made keeps its public password: say so loudly.
  if (await demoHasPassword(databaseUrl, DEFAULT_DEMO_PASSWORD)) {
    logger.warn(`the demo account from an earlier run still has the public password ${DEFAULT_DEMO_PASSWORD} and HOST=${config.HOST} is reachable from the network: log in and change it, or remove the account`);
  } else logger.info(plan.reason);
}
