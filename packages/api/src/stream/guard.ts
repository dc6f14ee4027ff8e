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
  /** How long a lease counts without renewal: a crashed process's streams stop counting after it. */
  leaseMs?: number;
  logger?: Logger;
}

/** One admitted stream: its place in the count, and the way the guard tells it to end. */
export class StreamLease {
  readonly id: string;
  #ended: StreamEnd | null = null;
  #listener: ((end: StreamEnd) => void) | null = null;
  readonly #release: () => Promise<void>;
  #released: Promise<void> | null = null;

  constructor(id: string, release: () => Promise<void>) {
    this.id = id;
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
 * The open streams of one process. Admission counts the credential's live streams in
 * PostgreSQL (a lease row per stream, renewed while it is open), so the cap holds across web
 * processes. While streams are open, one query per interval renews every lease of the process
 * and re-reads every stream's credential and membership; a stream whose credential or access
 * ended is told so. The check goes through the database because another process may have done
 * the logout or the revocation.
 */
export class StreamGuard {
  readonly #db: Db;
  readonly #max: number;
  readonly #checkIntervalMs: number;
  readonly #leaseMs: number;
  readonly #logger: Logger | undefined;
  readonly #open = new Map<string, Open>();
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
    const id = randomUUID();
    const admitted = await this.#db.transaction(async (tx) => {
      // Admissions of one credential queue here, whichever process makes them, so two cannot both take the last place.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`stream:${credential}`}, 0))`);
      await tx.execute(sql`delete from stream_leases where credential = ${credential} and lease_expires_at < now()`);
      const rows = await tx.execute<{ id: string }>(sql`
        insert into stream_leases (id, credential, user_id, execution_id, lease_expires_at)
        select ${id}, ${credential}, ${holder.userId}, ${holder.executionId}, now() + make_interval(secs => ${this.#leaseMs / 1000})
        where (select count(*) from stream_leases where credential = ${credential}) < ${this.#max}
        returning id`);
      return rows.length > 0;
    });
    if (!admitted) return null;
    const lease = new StreamLease(id, () => this.#release(id));
    this.#open.set(id, { lease, holder, credential });
    this.#schedule();
    return lease;
  }

  /** Re-checks every open stream now (the timer calls it; tests call it to skip the wait). */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const ids = [...this.#open.keys()];
    this.#open.clear();
    if (ids.length > 0) {
      await this.#db.execute(sql`delete from stream_leases where id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`).catch(() => {});
    }
  }

  #schedule() {
    if (this.#timer || this.#open.size === 0) return;
    this.#timer = setInterval(() => void this.check(), this.#checkIntervalMs);
    this.#timer.unref();
  }

  async #release(id: string): Promise<void> {
    if (!this.#open.delete(id)) return;
    if (this.#open.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    try {
      await this.#db.execute(sql`delete from stream_leases where id = ${id}`);
    } catch (error) {
      // The lease runs out by itself.
      this.#logger?.warn({ err: error }, 'could not release a stream lease');
    }
  }

  async #check(): Promise<void> {
    const open = [...this.#open.values()];
    if (open.length === 0) return;
    const rows = open.map(({ lease, holder, credential }) => ({ id: lease.id, credential, ...holder }));
    let facts: (CredentialFacts & { id: string })[];
    try {
      facts = await this.#db.execute<CredentialFacts & { id: string }>(sql`
        with open as (
          select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
            as o(id text, credential text, "userId" text, "executionId" text, "workspaceId" text, "sessionId" text, "tokenId" text)
        ), renewed as (
          insert into stream_leases (id, credential, user_id, execution_id, lease_expires_at)
          select id, credential, "userId", "executionId", now() + make_interval(secs => ${this.#leaseMs / 1000}) from open
          on conflict (id) do update set lease_expires_at = excluded.lease_expires_at
        ), stale as (
          -- Rows of processes long gone, of credentials nobody opens a stream with again.
          delete from stream_leases where lease_expires_at < now() - interval '10 minutes'
        )
        select o.id,
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
    for (const row of facts) {
      const end = streamEndFrom(row);
      if (end) this.#open.get(row.id)?.lease.end(end);
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
