import postgres from 'postgres';
import { createDatabase, type Database } from './client.ts';
import { randomId } from './ids.ts';
import { runMigrations } from './migrate.ts';

/**
 * Test-only helpers. Each test file (or vitest worker) gets a fresh database created from
 * TEST_DATABASE_URL (default: the local server), migrated, and dropped afterwards.
 */
// biome-ignore lint/style/noProcessEnv: test setup reads its own variable
export const TEST_SERVER_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends Database {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `strata_test_${process.pid}_${randomId(8)}`;
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 2 });
  }
  const url = databaseUrl(TEST_SERVER_URL, name);
  if (options.migrate !== false) await runMigrations(url);
  const database = createDatabase(url, { applicationName: 'strata-test' });
  return {
    ...database,
    url,
    name,
    drop: async () => {
      await database.close();
      const dropper = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end({ timeout: 2 });
      }
    },
  };
}
