import type { Db } from '@strata/db';
import { getExecutionStatusParts, type ExecutionStatusParts, type StatusTask, type TaskInclude } from '@strata/engine';

interface Entry {
  parts: ExecutionStatusParts;
  parsed?: StatusTask[];
  /** The tasks' JSON as UTF-8, encoded once per snapshot and shared by every response. */
  bytes?: Buffer;
  /** The stream's serialised `state` message (its id is `parts.lastEventId`), shared briefly by clients connecting together. */
  state?: { at: number; event: { id: number; type: string; executionId: string; json: string } };
}

/** The includes in one canonical order, without repeats: one cache entry per distinct body. */
export function canonicalIncludes(include: readonly TaskInclude[] | undefined): TaskInclude[] {
  return [...new Set(include ?? [])].sort();
}

/**
 * Status snapshots per execution and per set of task includes, reused while the execution's
 * `version` is unchanged (every engine transaction that changes an execution or its tasks, or
 * appends its events, bumps it). A snapshot carries the id of the newest event it reflects
 * (read in the same statement), so nothing can pair its body with another id. Pollers of a busy
 * execution then cost a primary-key lookup instead of re-reading every task. Per process,
 * bounded, least recently used out first.
 */
export class StatusCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(capacity = 200) {
    this.#capacity = capacity;
  }

  async get(db: Db, executionId: string, version: number, include: readonly TaskInclude[] = []): Promise<Entry> {
    const parts = canonicalIncludes(include);
    const key = `${executionId}\u0000${parts.join(',')}`;
    const hit = this.#entries.get(key);
    if (hit && hit.parts.version === version) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const entry: Entry = { parts: await getExecutionStatusParts(db, executionId, parts) };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    return entry;
  }

  /** The tasks parsed, once per snapshot (tRPC callers need objects; REST passes the bytes through). */
  static parsedTasks(entry: Entry): StatusTask[] {
    entry.parsed ??= JSON.parse(entry.parts.tasks) as StatusTask[];
    return entry.parsed;
  }

  /** The tasks' JSON as UTF-8 bytes, once per snapshot. */
  static taskBytes(entry: Entry): Buffer {
    entry.bytes ??= Buffer.from(entry.parts.tasks);
    return entry.bytes;
  }
}
