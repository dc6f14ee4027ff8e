import type { Db } from '@strata/db';
import { getExecutionStatusParts, type ExecutionStatusParts, type TaskView } from '@strata/engine';

interface Entry {
  parts: ExecutionStatusParts;
  parsed?: TaskView[];
  /** The stream's serialised `state` message (its id is `parts.lastEventId`), shared briefly by clients connecting together. */
  state?: { at: number; event: { id: number; type: string; executionId: string; json: string } };
}

/**
 * Status snapshots per execution, reused while the execution's `version` is unchanged (every
 * engine transaction that changes an execution or its tasks, or appends its events, bumps it).
 * A snapshot carries the id of the newest event it reflects (read in the same statement), so
 * nothing can pair its body with another id. Pollers of a busy execution then cost a
 * primary-key lookup instead of re-reading every task. Per process, bounded, least recently
 * used out first.
 */
export class StatusCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(capacity = 200) {
    this.#capacity = capacity;
  }

  async get(db: Db, executionId: string, version: number): Promise<Entry> {
    const hit = this.#entries.get(executionId);
    if (hit && hit.parts.version === version) {
      this.#entries.delete(executionId);
      this.#entries.set(executionId, hit);
      return hit;
    }
    const entry: Entry = { parts: await getExecutionStatusParts(db, executionId) };
    this.#entries.delete(executionId);
    this.#entries.set(executionId, entry);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  /** The tasks parsed, once per snapshot (tRPC callers need objects; REST passes the text through). */
  static parsedTasks(entry: Entry): TaskView[] {
    entry.parsed ??= JSON.parse(entry.parts.tasks) as TaskView[];
    return entry.parsed;
  }
}
