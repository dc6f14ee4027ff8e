import type { Logger } from '@strata/config';
import type { Db, Sql } from '@strata/db';
import { EVENTS_CHANNEL, hookPoint } from '@strata/engine';
import { sql } from 'drizzle-orm';

/** One event as it goes on the wire: `{ id, type, executionId, timestamp, data }`, serialised once. */
export interface WireEvent {
  id: number;
  type: string;
  executionId: string;
  json: string;
  /** The SSE frame, encoded once and shared by every subscriber. */
  sse?: Buffer;
  /** The event as one WebSocket text frame (server frames are unmasked), encoded once. */
  wsFrame?: Buffer;
  /** The SSE frame as one HTTP/1.1 chunk, framed once. */
  sseChunk?: Buffer;
}

/** An event as a complete WebSocket text frame: FIN + text opcode, the length, the JSON. */
export function wsFrame(event: WireEvent): Buffer {
  if (event.wsFrame) return event.wsFrame;
  const payload = Buffer.from(event.json);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x81, length]) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 65_536) {
    header[0] = 0x81;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else if (length >= 65_536) {
    header[0] = 0x81;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  event.wsFrame = Buffer.concat([header, payload]);
  return event.wsFrame;
}

/** An event as an SSE frame (`id:`, `event:`, `data:`), encoded once. */
export function sseFrame(event: WireEvent): Buffer {
  event.sse ??= Buffer.from(`id: ${event.id}\nevent: ${event.type}\ndata: ${event.json}\n\n`);
  return event.sse;
}

/** Where a process keeps its one hub, so every module copy in the process (the SvelteKit bundle and the Node server around it) shares one LISTEN connection. */
const HUB_KEY = Symbol.for('strata.eventHub');

export function processEventHub(create: () => EventHub): EventHub {
  const holder = globalThis as unknown as Record<symbol, EventHub | undefined>;
  holder[HUB_KEY] ??= create();
  return holder[HUB_KEY];
}

export const FINAL_EVENT_TYPES = new Set(['execution-completed', 'execution-cancelled', 'error']);

interface Subscriber {
  lastId: number;
  /** Returns false when the subscriber cannot take more (it is then dropped). */
  deliver: (events: readonly WireEvent[]) => boolean;
  onDrop: () => void;
}

interface Followed {
  subscribers: Set<Subscriber>;
  fetching: boolean;
  again: boolean;
}

const PAGE = 2000;

/**
 * Fans the event log out to every subscriber in this process. One LISTEN connection wakes it
 * when an execution has new events; it then reads them from the log once per execution (not
 * once per subscriber) and hands each subscriber what lies past its own last id, so order is
 * the log's and nothing is sent twice. NOTIFY is only a hint: a poll every `pollMs` catches
 * whatever a dropped LISTEN connection missed, and a re-established LISTEN triggers a catch-up.
 */
export class EventHub {
  readonly #db: Db;
  readonly #listenSql: Sql;
  readonly #logger: Logger | undefined;
  readonly #followed = new Map<string, Followed>();
  /** Workspace watchers (the executions list), told which execution changed; null: refresh all. */
  readonly #workspaceWatchers = new Map<string, Set<(executionId: string | null) => void>>();
  /** Execution → workspace, for telling watchers; an execution never changes workspace. */
  readonly #workspaceOf = new Map<string, string>();
  readonly #pollMs: number;
  #poller: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #started: Promise<void> | undefined;

  constructor(options: { db: Db; listenSql: Sql; logger?: Logger; pollMs?: number }) {
    this.#db = options.db;
    this.#listenSql = options.listenSql;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs ?? 1000;
  }

  start(): Promise<void> {
    this.#started ??= (async () => {
      const request = await this.#listenSql.listen(
        EVENTS_CHANNEL,
        (payload) => {
          const executionId = payload.slice(0, payload.lastIndexOf(':'));
          if (this.#followed.has(executionId)) void this.#fetch(executionId);
          if (this.#workspaceWatchers.size > 0) void this.#tellWorkspace(executionId);
        },
        // Also called when postgres.js re-establishes LISTEN after a dropped connection.
        () => this.#catchUpAll(),
      );
      this.#unlisten = request.unlisten;
      this.#poller = setInterval(() => void this.#poll(), this.#pollMs);
      this.#poller.unref();
    })();
    return this.#started;
  }

  async stop(): Promise<void> {
    clearInterval(this.#poller);
    await this.#unlisten?.().catch(() => {});
    for (const followed of this.#followed.values()) for (const subscriber of followed.subscribers) subscriber.onDrop();
    this.#followed.clear();
  }

  get subscriberCount(): number {
    let n = 0;
    for (const followed of this.#followed.values()) n += followed.subscribers.size;
    return n;
  }

  /**
   * Calls `onChange` whenever an execution of the workspace has new events (one started, a task
   * finished, ...), and with null after a lost LISTEN connection; returns the unsubscribe function.
   */
  watchWorkspace(workspaceId: string, onChange: (executionId: string | null) => void): () => void {
    let watchers = this.#workspaceWatchers.get(workspaceId);
    if (!watchers) {
      watchers = new Set();
      this.#workspaceWatchers.set(workspaceId, watchers);
    }
    watchers.add(onChange);
    return () => {
      const current = this.#workspaceWatchers.get(workspaceId);
      current?.delete(onChange);
      if (current?.size === 0) this.#workspaceWatchers.delete(workspaceId);
    };
  }

  async #tellWorkspace(executionId: string): Promise<void> {
    let workspaceId = this.#workspaceOf.get(executionId);
    if (!workspaceId) {
      try {
        const [row] = await this.#db.execute<{ workspaceId: string }>(sql`select workspace_id as "workspaceId" from executions where id = ${executionId}`);
        if (!row) return;
        workspaceId = row.workspaceId;
      } catch (error) {
        this.#logger?.warn({ err: error }, 'could not find the workspace of an execution');
        return;
      }
      if (this.#workspaceOf.size >= 10_000) this.#workspaceOf.clear();
      this.#workspaceOf.set(executionId, workspaceId);
    }
    for (const watcher of this.#workspaceWatchers.get(workspaceId) ?? []) watcher(executionId);
  }

  /** Follows an execution from just after `afterId`; returns the unsubscribe function. */
  subscribe(executionId: string, afterId: number, deliver: Subscriber['deliver'], onDrop: () => void): () => void {
    let followed = this.#followed.get(executionId);
    if (!followed) {
      followed = { subscribers: new Set(), fetching: false, again: false };
      this.#followed.set(executionId, followed);
    }
    const subscriber: Subscriber = { lastId: afterId, deliver, onDrop };
    followed.subscribers.add(subscriber);
    void this.#fetch(executionId);
    return () => {
      const current = this.#followed.get(executionId);
      if (!current) return;
      current.subscribers.delete(subscriber);
      if (current.subscribers.size === 0) this.#followed.delete(executionId);
    };
  }

  async #fetch(executionId: string): Promise<void> {
    const followed = this.#followed.get(executionId);
    if (!followed) return;
    if (followed.fetching) {
      followed.again = true;
      return;
    }
    followed.fetching = true;
    try {
      do {
        followed.again = false;
        let from = Math.min(...[...followed.subscribers].map((s) => s.lastId));
        for (;;) {
          await hookPoint('hub:fetch', { executionId, from });
          const rows = await this.#db.execute<{ id: number; type: string; data: unknown; at: string }>(sql`
            select id::int8::float8 as id, type, data, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
            from execution_events where execution_id = ${executionId} and id > ${from} order by id limit ${PAGE}`);
          if (rows.length === 0) break;
          const events = rows.map((r) => ({
            id: Number(r.id),
            type: r.type,
            executionId,
            json: JSON.stringify({ id: Number(r.id), type: r.type, executionId, timestamp: r.at, data: r.data }),
          }));
          // Subscribers at the same point get the very same array, so transports can encode a batch once.
          const slices = new Map<number, WireEvent[]>();
          for (const subscriber of [...followed.subscribers]) {
            // This page holds what lies after `from` only. A subscriber that joined meanwhile from
            // an older id would lose what lies between: it waits for the next round, which reads
            // from its own position (its subscribe asked for one).
            if (subscriber.lastId < from) {
              followed.again = true;
              continue;
            }
            let fresh = slices.get(subscriber.lastId);
            if (!fresh) {
              fresh = subscriber.lastId >= events[events.length - 1]!.id ? [] : events.filter((e) => e.id > subscriber.lastId);
              slices.set(subscriber.lastId, fresh);
            }
            if (fresh.length === 0) continue;
            subscriber.lastId = fresh[fresh.length - 1]!.id;
            if (!subscriber.deliver(fresh)) {
              followed.subscribers.delete(subscriber);
              subscriber.onDrop();
            }
          }
          from = events[events.length - 1]!.id;
          if (rows.length < PAGE) break;
        }
      } while (followed.again && followed.subscribers.size > 0);
    } catch (error) {
      // The database is away: the poll retries once it is back.
      this.#logger?.warn({ err: error, executionId }, 'could not read the event log');
    } finally {
      followed.fetching = false;
      if (followed.subscribers.size === 0 && this.#followed.get(executionId) === followed) this.#followed.delete(executionId);
    }
  }

  #catchUpAll(): void {
    // Notices may have been missed: every workspace watcher refreshes.
    for (const watchers of this.#workspaceWatchers.values()) for (const watcher of watchers) watcher(null);
    for (const executionId of this.#followed.keys()) void this.#fetch(executionId);
  }

  /** The safety net: compares each followed execution's newest event with what was delivered. */
  async #poll(): Promise<void> {
    const ids = [...this.#followed.keys()];
    if (ids.length === 0) return;
    try {
      const rows = await this.#db.execute<{ executionId: string; latest: number }>(sql`
        select execution_id as "executionId", max(id)::int8::float8 as latest from execution_events
        where execution_id = any(array(select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))) group by execution_id`);
      for (const row of rows) {
        const followed = this.#followed.get(row.executionId);
        if (followed && [...followed.subscribers].some((s) => s.lastId < Number(row.latest))) void this.#fetch(row.executionId);
      }
    } catch (error) {
      this.#logger?.warn({ err: error }, 'event poll failed');
    }
  }
}
