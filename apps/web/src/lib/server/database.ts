import { loadConfig } from '@strata/config';
import { createDatabase, type Database } from '@strata/db';

let database: Database | undefined;

/** The web process's one connection pool, opened on first use. */
export function getDatabase(): Database {
  if (!database) {
    const url = loadConfig().DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: start the web app with `pnpm start` or `pnpm start:web`.');
    database = createDatabase(url, { applicationName: 'strata-web', max: 20 });
    process.once('sveltekit:shutdown', () => void closeDatabase());
  }
  return database;
}

export async function closeDatabase(): Promise<void> {
  const current = database;
  database = undefined;
  await current?.close();
}
