import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The ids a log line carries when it is written on behalf of a request or a task attempt. They
 * ride on the async context, so code deep below the HTTP handler or the worker's attempt loop
 * logs them without being handed a logger: every logger made by createLogger adds them.
 */
export interface LogFields {
  requestId?: string;
  executionId?: string;
  taskId?: string;
  attempt?: number;
  agentType?: string;
}

// One store per process: the web app's build bundles its own copy of this module beside the one
// its Node server imports, and both must see the same fields.
const KEY = Symbol.for('strata.logFields');
const holder = globalThis as { [KEY]?: AsyncLocalStorage<LogFields> };
holder[KEY] ??= new AsyncLocalStorage<LogFields>();
const storage: AsyncLocalStorage<LogFields> = holder[KEY];

/** Runs `fn` with these fields added to (or replacing) the ones already in effect. */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const current = storage.getStore();
  return storage.run(current ? { ...current, ...fields } : fields, fn);
}

/** The fields in effect here (an empty object outside any request or attempt). */
export function currentLogFields(): LogFields {
  return storage.getStore() ?? {};
}

/** Runs `fn` with no fields in effect: for work that serves many requests or attempts at once. */
export function withoutLogFields<T>(fn: () => T): T {
  return storage.exit(fn);
}
