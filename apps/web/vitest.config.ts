import { defineConfig } from 'vitest/config';

// Tests run the built app as a real process (server.ts over build/), not vite's dev server.
export default defineConfig({
  test: {
    // One PostgreSQL for the run (packages/db/src/test-server), and a Chromium found before any test.
    globalSetup: ['@strata/db/test-setup', './test/chromium-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
