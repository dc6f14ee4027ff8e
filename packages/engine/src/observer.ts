import type { NewEvent } from './events.ts';
import type { Tx } from './tx.ts';

/**
 * Who wants to know what the engine did, once it is durable: the metrics of a process count the
 * events its engine calls committed. Every state change of an execution or a task appends an
 * event (events.ts), so the committed events are the one place where tasks and executions settle.
 * Events of a transaction that rolls back (a deadlock retry, a start another process won) are
 * never seen.
 */
export interface EngineObserver {
  /** Called after COMMIT with the events that transaction appended, in order. Must not throw. */
  eventsCommitted(events: readonly NewEvent[]): void;
}

/** The process's observers; kept on globalThis so every copy of this module in a process (the SvelteKit bundle and the Node server around it) shares them. */
const OBSERVERS_KEY = Symbol.for('strata.engineObservers');
function observers(): Set<EngineObserver> {
  const holder = globalThis as unknown as Record<symbol, Set<EngineObserver> | undefined>;
  holder[OBSERVERS_KEY] ??= new Set();
  return holder[OBSERVERS_KEY];
}

/** Registers an observer; returns the function that removes it. */
export function observeEngine(observer: EngineObserver): () => void {
  observers().add(observer);
  return () => {
    observers().delete(observer);
  };
}

/** The events appended so far in each open engine transaction (transaction() in tx.ts). */
const appended = new WeakMap<Tx, NewEvent[]>();

/** Starts collecting the events `tx` appends; the returned list is handed to the observers after COMMIT. */
export function collectAppended(tx: Tx): NewEvent[] {
  const list: NewEvent[] = [];
  appended.set(tx, list);
  return list;
}

/** Notes events appended in `tx` (events.ts); nothing when no observer listens. */
export function noteAppended(tx: Tx, events: readonly NewEvent[]): void {
  if (observers().size === 0) return;
  appended.get(tx)?.push(...events);
}

/** Hands a committed transaction's events to every observer; an observer that throws harms nothing else. */
export function eventsCommitted(events: readonly NewEvent[]): void {
  if (events.length === 0) return;
  for (const observer of observers()) {
    try {
      observer.eventsCommitted(events);
    } catch {
      // An observer is a bystander: its failure must never fail the engine's work.
    }
  }
}
