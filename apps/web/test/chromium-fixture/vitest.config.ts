import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The web app's Chromium check alone, for chromium.test.ts.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.fixture.ts'],
    globalSetup: [fileURLToPath(new URL('../chromium-setup.ts', import.meta.url))],
  },
});
