import { randomUUID } from 'node:crypto';
import { type Role, roleAllows } from '@strata/auth';
import type { Logger } from '@strata/config';
import type { Db } from '@strata/db';
import { sql } from 'drizzle-orm';

/** Why a stream was closed by the server before the execution's end: the WebSocket close code and a reason. */
export interface StreamEnd {
  /** 4401: the credential ended (logout, expiry, revocation); 4403: the caller's access to the workspace was removed. */
  code: 4401 | 4403;
  reason: string;
}

/** What a stream runs on, re-checked while it is open. */
export interface StreamHolder {
  userId: string;
  executionId: string;
  workspaceId: string;
  /** Exactly one of these: the session or API token the stream's credentials come from (for a ticket, the one that issued it). */
  sessionId: string | null;
  tokenId: string | null;
}

export interface StreamGuardOptions {
  db: Db;
  /** Open streams one credential may hold across every web process (STREAM_MAX_PER_CREDENTIAL). */
  maxPerCredential: number;
  /** How often open streams' credentials and access are re-checked; with the query's time it bounds how long a stream outlives them. */
  checkIntervalMs?: number;
  /** How long the process's lease counts without renewal: a crashed process's streams stop counting after it. */
  leaseMs?: number;
  logger?: Logger;
}

/** One admitted stream: its place in the count, and the way the guard tells it to end. */
export class StreamLease {
  #ended: StreamEnd | null = null;
  #listener: ((end: StreamEnd) => void) | null = null;
  readonly #release: () => Promise<void>;
  #released: Promise<void> | null = null;

  constructor(release: () => Promise<void>) {
    this.#release = release;
  }

  /** Called once if the stream's credential or access ends (at once if it already has). */
  onEnd(listener: (end: StreamEnd) => void): void {
    if (this.#ended) listener(this.#ended);
    else this.#listener = listener;
  }

  /** The stream is closed: it stops counting (once the returned promise settles). Idempotent. */
  release(): Promise<void> {
    if (!this.#released) {
      this.#listener = null;
      this.#released = this.#release();
    }
    return this.#released;
  }

  end(why: StreamEnd): void {
    if (this.#ended || this.#released) return;
    this.#ended = why;
    const listener = this.#listener;
    this.#listener = null;
    listener?.(why);
  }
}

interface Open {
  lease: StreamLease;
  holder: StreamHolder;
  credential: string;
  /** Streams of one credential, user and workspace are checked as one. */
  checkKey: string;
}

/** What the database says of one open stream's credential and access. */
export type CredentialFacts = {
  sessionGone: boolean;
  sessionExpired: boolean;
  tokenGone: boolean;
  tokenRevoked: boolean;
  tokenExpired: boolean;
  role: Role | null;
};

/** Whether a stream may go on, from the facts; the first thing that ended it wins. */
export function streamEndFrom(facts: CredentialFacts): StreamEnd | null {
  if (facts.sessionGone) return { code: 4401, reason: 'Session ended (logged out)' };
  if (facts.sessionExpired) return { code: 4401, reason: 'Session expired' };
  if (facts.tokenGone) return { code: 4401, reason: 'API token deleted' };
  if (facts.tokenRevoked) return { code: 4401, reason: 'API token revoked' };
  if (facts.tokenExpired) return { code: 4401, reason: 'API token expired' };
  if (!facts.role || !roleAllows(facts.role, 'read')) return { code: 4403, reason: 'Access to the workspace was removed' };
  return null;
}

export const credentialKey = (holder: Pick<StreamHolder, 'sessionId' | 'tokenId'>) =>
  holder.tokenId ? `token:${holder.tokenId}` : `session:${holder.sessionId ?? ''}`;

/**
 * The open streams of one process. Admission counts the credential's open streams in
 * PostgreSQL (a counter per credential and process, counted only while the process's lease
 * is current), so the cap holds across web processes and a crashed process's streams stop
 * counting once its lease has passed. While streams are open, one query per interval renews
 * the process's lease and re-reads every open stream's credential and membership; a stream
 * whose credential or access ended is told so. The check goes through the database because
 * another process may have done the logout or the revocation.
 */
export class StreamGuard {
  /** This process's row in stream_processes. */
  readonly processId = `proc_${randomUUID()}`;
  readonly #db: Db;
  readonly #max: number;
  readonly #checkIntervalMs: number;
  readonly #leaseMs: number;
  readonly #logger: Logger | undefined;
  readonly #open = new Set<Open>();
  /** When this process's lease runs out, as far as this process knows (its own clock measures only the time since renewal). */
  #leaseUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(options: StreamGuardOptions) {
    this.#db = options.db;
    this.#max = options.maxPerCredential;
    this.#checkIntervalMs = options.checkIntervalMs ?? 2000;
    this.#leaseMs = options.leaseMs ?? Math.max(15_000, this.#checkIntervalMs * 5);
    this.#logger = options.logger;
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** A lease for a new stream, or null when the credential already holds its maximum of open streams. */
  async admit(holder: StreamHolder): Promise<StreamLease | null> {
    const credential = credentialKey(holder);
    // Renewed here only when half spent, outside the admission's transaction, so admissions do not queue on the process's row.
    if (Date.now() > this.#leaseUntil - this.#leaseMs / 2) await this.#renewProcess();
    const admitted = await this.#db.transaction(async (tx) => {
      // Admissions of one credential queue here, whichever process makes them, so two cannot both take the last place.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stream:${credential}`}, 0))`);
      const rows = await tx.execute<{ open: number }>(sql`
        insert into stream_counts (process_id, credential, open)
        select ${this.processId}, ${credential}, 1
        where (select coalesce(sum(c.open), 0) from stream_counts c join stream_processes p on p.id = c.process_id
               where c.credential = ${credential} and p.lease_expires_at > now()) < ${this.#max}
        on conflict (process_id, credential) do update set open = stream_counts.open + 1
        returning open`);
      return rows.length > 0;
    });
    if (!admitted) return null;
    const open: Open = {
      lease: new StreamLease(() => this.#release(open)),
      holder,
      credential,
      checkKey: [credential, holder.userId, holder.workspaceId].join(' '),
    };
    this.#open.add(open);
    this.#schedule();
    return open.lease;
  }

  /** Re-checks every open stream now (the timer calls it; tests call it to skip the wait). */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Forgets this process's streams in the database (shutdown). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#open.clear();
    await this.#db.execute(sql`delete from stream_processes where id = ${this.processId}`).catch(() => {});
  }

  #schedule() {
    if (this.#timer || this.#open.size === 0) return;
    this.#timer = setInterval(() => void this.check(), this.#checkIntervalMs);
    this.#timer.unref();
  }

  async #renewProcess(): Promise<void> {
    const startedAt = Date.now();
    await this.#db.execute(sql`
      insert into stream_processes (id, lease_expires_at) values (${this.processId}, now() + make_interval(secs => ${this.#leaseMs / 1000}))
      on conflict (id) do update set lease_expires_at = excluded.lease_expires_at`);
    this.#leaseUntil = startedAt + this.#leaseMs;
  }

  async #release(open: Open): Promise<void> {
    if (!this.#open.delete(open)) return;
    if (this.#open.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    try {
      await this.#db.execute(sql`
        update stream_counts set open = open - 1 where process_id = ${this.processId} and credential = ${open.credential} and open > 0`);
    } catch (error) {
      // Counted until the process's lease runs out or the process restarts.
      this.#logger?.warn({ err: error }, 'could not release a stream');
    }
  }

  async #check(): Promise<void> {
    const open = [...this.#open];
    if (open.length === 0) return;
    const distinct = new Map<string, StreamHolder & { key: string }>();
    for (const { holder, checkKey } of open) if (!distinct.has(checkKey)) distinct.set(checkKey, { key: checkKey, ...holder });
    const startedAt = Date.now();
    let facts: (CredentialFacts & { key: string })[];
    try {
      facts = await this.#db.execute<CredentialFacts & { key: string }>(sql`
        with open as (
          select * from jsonb_to_recordset(${JSON.stringify([...distinct.values()])}::jsonb)
            as o(key text, "userId" text, "workspaceId" text, "sessionId" text, "tokenId" text)
        ), renewed as (
          insert into stream_processes (id, lease_expires_at) values (${this.processId}, now() + make_interval(secs => ${this.#leaseMs / 1000}))
          on conflict (id) do update set lease_expires_at = excluded.lease_expires_at
        ), stale as (
          -- Processes long gone, with their counts.
          delete from stream_processes where lease_expires_at < now() - interval '10 minutes'
        )
        select o.key,
          (o."sessionId" is not null and s.id is null) as "sessionGone",
          coalesce(s.expires_at <= now(), false) as "sessionExpired",
          (o."tokenId" is not null and t.id is null) as "tokenGone",
          (t.revoked_at is not null) as "tokenRevoked",
          coalesce(t.expires_at <= now(), false) as "tokenExpired",
          m.role
        from open o
        left join sessions s on s.id = o."sessionId"
        left join api_tokens t on t.id = o."tokenId"
        left join memberships m on m.workspace_id = o."workspaceId" and m.user_id = o."userId"`);
    } catch (error) {
      // The database is away: nothing can be decided; the next interval tries again.
      this.#logger?.warn({ err: error }, 'could not re-check open streams');
      return;
    }
    this.#leaseUntil = startedAt + this.#leaseMs;
    const ends = new Map<string, StreamEnd>();
    for (const row of facts) {
      const end = streamEndFrom(row);
      if (end) ends.set(row.key, end);
    }
    if (ends.size === 0) return;
    for (const entry of open) {
      const end = ends.get(entry.checkKey);
      if (end) entry.lease.end(end);
    }
  }
}

/** Where a process keeps its one guard, so the SvelteKit bundle (tRPC) and the Node server around it (SSE, WebSocket) count and check together. */
const GUARD_KEY = Symbol.for('strata.streamGuard');

export function processStreamGuard(create: () => StreamGuard): StreamGuard {
  const holder = globalThis as unknown as Record<symbol, StreamGuard | undefined>;
  holder[GUARD_KEY] ??= create();
  return holder[GUARD_KEY];
}
