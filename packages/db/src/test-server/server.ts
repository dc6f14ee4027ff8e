import { parseTestEnv } from '@strata/config';
import { randomId } from '../ids.ts';
import { removeAbandonedDataDirs } from './folder.ts';
import { startGuardian } from './guardian-order.ts';
import { serverAddress, whyNotUsable } from './probe.ts';
import { dropOrphanedDatabases } from './sweep.ts';

/** Where the tests look for a server when TEST_DATABASE_URL is unset. */
export const DEFAULT_TEST_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestServer {
  /** The server's maintenance URL; tests create their databases beside it (TEST_DATABASE_URL). */
  url: string;
  runId: string;
  source: 'TEST_DATABASE_URL' | 'default address' | 'embedded';
  /** The embedded server's data folder (removed at close). */
  dataDir?: string;
  /** The guardian's pid. */
  guardianPid: number;
  /** Ends the run: the guardian drops the run's databases or stops the embedded server, then exits. */
  close(): Promise<void>;
}

/**
 * The database server for one test run, watched over by a guardian process that cleans up
 * when the run ends, however it ends:
 * - TEST_DATABASE_URL set: that server (the run fails at once when it does not answer);
 * - else the default address (127.0.0.1:5432) when a server there accepts us;
 * - else an embedded PostgreSQL in a temporary folder, for this run only.
 */
export async function startTestServer(options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<TestServer> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const testEnv = parseTestEnv(env);
  const runId = randomId(16);
  const abandoned = await removeAbandonedDataDirs();
  if (abandoned.length > 0) log(`tests: removed ${abandoned.length} embedded test server(s) left by runs that no longer exist`);

  let serverUrl: string | undefined;
  let source: TestServer['source'];
  if (testEnv.TEST_DATABASE_URL) {
    const problem = await whyNotUsable(testEnv.TEST_DATABASE_URL);
    if (problem) throw new Error(`TEST_DATABASE_URL (${serverAddress(testEnv.TEST_DATABASE_URL)}) cannot be used: ${problem}. Fix it, or unset it to let the tests bring their own PostgreSQL.`);
    serverUrl = testEnv.TEST_DATABASE_URL;
    source = 'TEST_DATABASE_URL';
  } else {
    const defaultUrl = testEnv.STRATA_TEST_DEFAULT_DB_URL ?? DEFAULT_TEST_SERVER_URL;
    const problem = await whyNotUsable(defaultUrl);
    if (problem) {
      log(`tests: no usable PostgreSQL at ${serverAddress(defaultUrl)} (${problem}); starting an embedded one for this run (set TEST_DATABASE_URL to use a server of yours)`);
      source = 'embedded';
    } else {
      serverUrl = defaultUrl;
      source = 'default address';
    }
  }
  if (serverUrl) {
    const dropped = await dropOrphanedDatabases(serverUrl);
    if (dropped.length > 0) log(`tests: dropped ${dropped.length} test database(s) left by runs that no longer exist`);
  }

  const guardian = await startGuardian({ kind: 'run', runId, ...(serverUrl ? { serverUrl } : {}) }, env);
  const { url, dataDir, error } = guardian.report;
  if (error || !url) {
    await guardian.close();
    throw new Error(`Could not start the embedded PostgreSQL for the tests: ${error ?? 'no address reported'}`);
  }
  if (dataDir) log(`tests: embedded PostgreSQL ready at ${serverAddress(url)} (data in ${dataDir}, removed at the end)`);
  return { url, runId, source, ...(dataDir ? { dataDir } : {}), guardianPid: guardian.pid, close: guardian.close };
}
