import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@strata/db/test-setup'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
