import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@strata/db/test-setup'],
    testTimeout: 120_000,
    fileParallelism: false,
    hookTimeout: 60_000,
  },
});
