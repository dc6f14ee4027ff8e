import { parseTestEnv } from '@strata/config';
import { startTestServer } from './server.ts';

/**
 * Vitest global setup of every package that touches a database
 * (`globalSetup: ['@strata/db/test-setup']` in its vitest.config.ts).
 *
 * Under `pnpm test` the run's wrapper already chose the server (TEST_DATABASE_URL and
 * STRATA_TEST_RUN_ID are set): nothing to do. Run alone (`pnpm exec vitest run` in a package),
 * this vitest owns the run: it finds or starts the server the same way, and the test files'
 * databases are created there (packages/db/src/testing.ts reads TEST_DATABASE_URL).
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const testEnv = parseTestEnv(process.env);
  if (testEnv.STRATA_TEST_RUN_ID) {
    if (!testEnv.TEST_DATABASE_URL) throw new Error('STRATA_TEST_RUN_ID is set without TEST_DATABASE_URL: it is set by the test run itself, not by hand.');
    return undefined;
  }
  const server = await startTestServer({ log: (line) => console.log(line) });
  const previous = process.env.TEST_DATABASE_URL;
  // Test workers start after global setup and inherit this environment, as do processes they spawn.
  process.env.TEST_DATABASE_URL = server.url;
  process.env.STRATA_TEST_RUN_ID = server.runId;
  return async () => {
    await server.close();
    delete process.env.STRATA_TEST_RUN_ID;
    if (previous === undefined) delete process.env.TEST_DATABASE_URL;
    else process.env.TEST_DATABASE_URL = previous;
  };
}
