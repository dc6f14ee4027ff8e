/**
 * Named hook points: places in the engine (and the stream hub) where a test can stop the code,
 * look at what it is doing, and let it go on, so a race is forced instead of hoped for. With no
 * listener registered (production), a hook point costs one Map lookup.
 *
 * Production code calls `await hookPoint('after-claim', { taskId })`; tests use `blockAt` from
 * `@strata/engine/testing` (or `onHook` directly).
 */

export type HookInfo = Record<string, unknown>;
export type HookListener = (info: HookInfo) => void | Promise<void>;

const listeners = new Map<string, Set<HookListener>>();

/** Runs every listener of `name`, in order of registration; a listener may hold the caller by not resolving. */
export async function hookPoint(name: string, info: HookInfo = {}): Promise<void> {
  const set = listeners.get(name);
  if (!set || set.size === 0) return;
  for (const listener of [...set]) await listener(info);
}

/** Registers a listener; returns the function that removes it. */
export function onHook(name: string, listener: HookListener): () => void {
  let set = listeners.get(name);
  if (!set) {
    set = new Set();
    listeners.set(name, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

/** A hook point held shut: callers that reach it (and match) wait until `release()`. */
export interface HookBarrier {
  /** Resolves with the info of the first matching caller that reached the point. */
  reached: Promise<HookInfo>;
  /** How many matching callers have reached the point so far. */
  readonly hits: number;
  /** Lets every held caller (and every later one) through. */
  release(): void;
  /** Release and stop listening. */
  remove(): void;
}

/**
 * Holds callers of hook point `name` for which `match` is true (all of them by default) until
 * `release()`. `times` limits how many are held (the rest pass straight through).
 */
export function blockAt(name: string, options: { match?: (info: HookInfo) => boolean; times?: number } = {}): HookBarrier {
  const reached = Promise.withResolvers<HookInfo>();
  const gate = Promise.withResolvers<void>();
  let hits = 0;
  let released = false;
  const limit = options.times ?? Number.POSITIVE_INFINITY;
  const unregister = onHook(name, async (info) => {
    if (options.match && !options.match(info)) return;
    hits += 1;
    if (hits === 1) reached.resolve(info);
    if (released || hits > limit) return;
    await gate.promise;
  });
  const release = () => {
    released = true;
    gate.resolve();
  };
  return {
    reached: reached.promise,
    get hits() {
      return hits;
    },
    release,
    remove() {
      release();
      unregister();
    },
  };
}

/** Removes every listener (test teardown). */
export function clearHooks(): void {
  listeners.clear();
}
