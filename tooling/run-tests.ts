// `pnpm test`: every package's tests through turbo, against one PostgreSQL for the whole run
// (TEST_DATABASE_URL, else 127.0.0.1:5432, else an embedded one started here and removed at the
// end), and a Chromium for the browser tests found up front. Arguments go to turbo
// (`pnpm test --filter=@strata/db`).
import { runWithTestServer } from '@strata/db/test-server';
import { findChromium } from '../apps/web/test/chromium.ts';

const args = process.argv.slice(2);
// The whole suite includes the browser tests: without a Chromium it would fail only at the
// end, after every other package. A filtered run leaves the check to the web app's setup.
if (args.length === 0) {
  const chromium = findChromium();
  if (!chromium.found) {
    console.error(chromium.message);
    process.exit(1);
  }
  process.env.CHROMIUM_PATH = chromium.path;
}
process.env.TURBO_TELEMETRY_DISABLED ??= '1';
try {
  process.exitCode = await runWithTestServer('turbo', ['run', 'test', '--concurrency=1', ...args]);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
