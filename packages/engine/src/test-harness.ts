import { afterAll, afterEach, beforeAll } from 'vitest';
import { clearHooks } from './hooks.ts';
import { createEngineHarness, type EngineHarness } from './testing.ts';

/**
 * Test-only: one engine harness for a test file (created before its tests and handed to
 * `onReady`, closed after them), with hook barriers cleared after every test.
 */
export function useEngineHarness(onReady: (harness: EngineHarness) => void | Promise<void>, options: Parameters<typeof createEngineHarness>[0] = { retry: { baseMs: 50, maxMs: 100 } }): void {
  let harness: EngineHarness | undefined;
  beforeAll(async () => {
    harness = await createEngineHarness(options);
    await onReady(harness);
  });
  afterAll(async () => {
    await harness?.close();
  });
  afterEach(() => clearHooks());
}
