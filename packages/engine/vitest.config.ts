import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@strata/db/test-setup'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Integration tests start real worker processes and pg-boss; two cores go further one file at a time.
    fileParallelism: false,
  },
});
