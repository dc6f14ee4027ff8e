import { findChromium } from './chromium.ts';

/**
 * Vitest global setup of the web app's tests: the run stops here, before any test, when no
 * Chromium can be found, with the one line that says how to install one. The path found is
 * passed to the test workers (and browser.ts) as CHROMIUM_PATH.
 */
export default function setup(): void {
  const result = findChromium();
  if (!result.found) {
    const error = new Error(result.message);
    error.stack = `Error: ${result.message}`; // the one line is the whole story: no stack trace under it
    throw error;
  }
  process.env.CHROMIUM_PATH = result.path;
}
