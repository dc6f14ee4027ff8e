import { parseTestEnv } from '@strata/config';
import postgres from 'postgres';
import { createDatabase, type Database } from './client.ts';
import { randomId } from './ids.ts';
import { runMigrations } from './migrate.ts';
import { DEFAULT_TEST_SERVER_URL } from './test-server/server.ts';
import { currentTag, TEST_DATABASE_PREFIX, tagDatabase } from './test-server/tags.ts';

/**
 * Test-only helpers. Each test file (or vitest worker) gets a fresh database created on
 * TEST_DATABASE_URL's server, migrated, and dropped afterwards. The test run sets that
 * variable (the global setup, test-server/vitest-setup.ts); the default serves scripts that
 * use these helpers outside a test run (bench).
 */
// biome-ignore lint/style/noProcessEnv: test setup reads its own variables
const testEnv = parseTestEnv(process.env);
export const TEST_SERVER_URL = testEnv.TEST_DATABASE_URL ?? DEFAULT_TEST_SERVER_URL;

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
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${randomId(8)}`;
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
    // Who made it: the run's cleanup drops its own, and leftovers of dead processes (test-server/tags.ts).
    await tagDatabase(admin, name, currentTag(testEnv.STRATA_TEST_RUN_ID));
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
