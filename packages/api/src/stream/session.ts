import { authenticate, principalFromCredential, roleAllows, workspaceRole, type Principal } from '@strata/auth';
import type { Db } from '@strata/db';
import { findExecution, hookPoint, statusBody, type TaskInclude } from '@strata/engine';
import { processMetrics, type StreamTransport } from '@strata/metrics';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { formatInputError } from '../input-error.ts';
import { rawJson, stringifyWithRaw } from '../raw-json.ts';
import { type RateLimits, rateLimitHeaders, takeRateLimit } from '../rate-limit.ts';
import { checkSameOrigin } from '../same-origin.ts';
import { taskIncludeInput } from '../schemas.ts';
import { canonicalIncludes, StatusCache } from '../status-cache.ts';
import type { StreamGuard, StreamLease } from './guard.ts';
import { FINAL_EVENT_TYPES, type EventHub, type WireEvent } from './hub.ts';
import { redeemStreamTicket } from './tickets.ts';

export interface StreamDeps {
  db: Db;
  hub: EventHub;
  statusCache?: StatusCache;
  /** Caps open streams per credential and ends streams whose credential or access ended. */
  guard?: StreamGuard;
  /** Opening a stream reads the full status: it counts against the workspace's status limit. */
  rateLimits?: Pick<RateLimits, 'status'>;
  /** The app's public origin (`ORIGIN`) for the same-origin check of cookie-authenticated streams; without it the Host header stands for it. */
  origin?: string | undefined;
}

/** Where a stream goes: one transport's way of sending a frame and closing. */
export interface StreamSink {
  /** How the client reads the stream: counted in `strata_stream_subscribers` while it is open. */
  transport: StreamTransport;
  /** Sends events in order; false when the client is not keeping up (it is then dropped). */
  send(events: readonly WireEvent[]): boolean;
  close(): void;
}

export type StreamAuth =
  | {
      ok: true;
      principal: Principal;
      executionId: string;
      workspaceId: string;
      /** Authenticated by the session cookie alone: a browser sends it by itself, whoever made the page. */
      ambient: boolean;
      /** What the `state` message's tasks carry beyond the seed's fields (`?include=`). */
      include: TaskInclude[];
    }
  | { ok: false; status: 400 | 401 | 403 | 404; error: string };

const streamQuery = z.object({ include: taskIncludeInput });

/** `?include=detail,results` on a stream; a bad value is refused naming the parameter. */
export function streamIncludes(url: URL): { ok: true; include: TaskInclude[] } | { ok: false; error: string } {
  const raw = url.searchParams.getAll('include');
  if (raw.length === 0) return { ok: true, include: [] };
  const parsed = streamQuery.safeParse({ include: raw.join(',') });
  return parsed.success ? { ok: true, include: canonicalIncludes(parsed.data.include) } : { ok: false, error: formatInputError(parsed.error) };
}

/**
 * The stream's checks, as the status endpoint makes them: credentials (a Bearer header, the
 * session cookie, or `?access_token=` carrying a stream ticket for clients that cannot set
 * headers), the execution, the caller's role in its workspace. `?access_token=` takes nothing
 * but a ticket: a session or API token in a URL would end up in logs and browser histories.
 */
export async function authorizeStream(deps: StreamDeps, request: { headers: Headers; url: URL; executionId: string }): Promise<StreamAuth> {
  const authorization = request.headers.get('authorization');
  const ticket = request.url.searchParams.get('access_token');
  let principal: Principal | null;
  if (ticket !== null && !authorization) {
    const issued = await redeemStreamTicket(deps.db, ticket);
    if (!issued) return { ok: false, status: 401, error: 'Unauthorized: access_token takes a stream ticket (POST /api/executions/:id/stream-ticket), valid once for 60 s' };
    if (issued.executionId !== request.executionId) return { ok: false, status: 403, error: 'Access denied: the stream ticket is for another execution' };
    principal = await principalFromCredential(deps.db, issued);
  } else {
    principal = await authenticate(deps.db, { authorization, cookie: request.headers.get('cookie') });
  }
  if (!principal) return { ok: false, status: 401, error: 'Unauthorized' };
  const include = streamIncludes(request.url);
  if (!include.ok) return { ok: false, status: 400, error: include.error };
  const execution = await findExecution(deps.db, request.executionId);
  if (!execution) return { ok: false, status: 404, error: 'Execution not found' };
  const role = await workspaceRole(deps.db, principal, execution.workspaceId);
  if (!role || !roleAllows(role, 'read')) return { ok: false, status: 403, error: 'Access denied' };
  return { ok: true, principal, executionId: execution.id, workspaceId: execution.workspaceId, ambient: !authorization && ticket === null, include: include.include };
}

/**
 * A stream that rests on the session cookie alone must come from the app's own pages: a
 * WebSocket is not bound by CORS, and a cross-site EventSource would still take a place in the
 * credential's cap and the workspace's rate limit. Opening one is treated as a state-changing
 * request. Bearer and ticket streams carry their own credential and are not checked.
 */
export function crossSiteRefusal(deps: StreamDeps, auth: Extract<StreamAuth, { ok: true }>, headers: Headers): string | null {
  if (!auth.ambient) return null;
  const verdict = checkSameOrigin('POST', headers, { origin: deps.origin });
  return verdict.ok ? null : verdict.reason;
}

export type StreamAdmission =
  | { ok: true; lease: StreamLease | null; headers: Record<string, string> }
  | { ok: false; status: 429; error: string; headers: Record<string, string> };

/**
 * Whether an authorized stream may open: the credential's cap on open streams (across web
 * processes), then the workspace's status rate limit, since the stream's first message is a
 * full status read. A refusal by the cap does not count against the rate limit; a refusal by
 * the rate limit gives its place back.
 */
export async function admitStream(deps: StreamDeps, auth: Omit<Extract<StreamAuth, { ok: true }>, 'include'>): Promise<StreamAdmission> {
  const { principal } = auth;
  const lease = deps.guard
    ? await deps.guard.admit({
        userId: principal.user.id,
        executionId: auth.executionId,
        workspaceId: auth.workspaceId,
        sessionId: principal.kind === 'session' ? (principal.sessionId ?? null) : null,
        tokenId: principal.kind === 'token' ? (principal.tokenId ?? null) : null,
      })
    : null;
  if (deps.guard && !lease) return { ok: false, status: 429, error: 'Too many open streams for this credential', headers: {} };
  const decision = await takeRateLimit(deps.db, auth.workspaceId, 'status', deps.rateLimits?.status ?? 0);
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    await lease?.release();
    return { ok: false, status: 429, error: 'Rate limit exceeded', headers };
  }
  return { ok: true, lease, headers };
}

/** The resume point a client asked for: `Last-Event-ID`, `?lastEventId=` or `?after=`; null for none. */
export function resumePoint(headers: Headers, url: URL): number | null {
  const raw = headers.get('last-event-id') ?? url.searchParams.get('lastEventId') ?? url.searchParams.get('after');
  if (raw === null || raw === '') return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * Runs one client's stream: first the current state (id = the latest event so far), then the
 * events after the resume point from the log, then live ones, in order, each once. Closes after
 * the execution's final event. Returns a function that ends it early (client gone).
 */
export async function openStream(deps: StreamDeps, executionId: string, after: number | null, include: readonly TaskInclude[], sink: StreamSink): Promise<() => void> {
  // The version only says whether a cached snapshot is still current; the state and its id come
  // from that snapshot, read in one statement, so the body is exactly the state at its id.
  const [current] = await deps.db.execute<{ version: number | null }>(sql`select version from executions where id = ${executionId}`);
  await hookPoint('stream:before-state', { executionId });
  const cache = deps.statusCache ?? new StatusCache(1);
  const entry = await cache.get(deps.db, executionId, current?.version ?? -1, include);
  const latestId = entry.parts.lastEventId;
  // Many clients connecting at once share one serialised state while nothing changes.
  const now = Date.now();
  if (!entry.state || now - entry.state.at > 1000) {
    const body = statusBody(entry.parts, rawJson(entry.parts.tasks));
    const json = stringifyWithRaw({ id: latestId, type: 'state', executionId, timestamp: new Date(now).toISOString(), data: body });
    entry.state = { at: now, event: { id: latestId, type: 'state', executionId, json } };
  }
  const stateEvent = entry.state.event;
  let closed = false;
  let unsubscribe: () => void = () => {};
  const subscribers = processMetrics().streamSubscribers;
  let counted = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    if (counted) subscribers.dec({ transport: sink.transport });
    sink.close();
  };
  if (!sink.send([stateEvent])) {
    finish();
    return finish;
  }
  // A settled execution with no resume point: replay just its final event, then close.
  const from = after ?? (entry.parts.execution.completedAt ? Math.max(0, latestId - 1) : latestId);
  subscribers.inc({ transport: sink.transport });
  counted = true;
  unsubscribe = deps.hub.subscribe(
    executionId,
    from,
    (events) => {
      if (closed) return true;
      const end = events.findIndex((e) => FINAL_EVENT_TYPES.has(e.type));
      if (!sink.send(end < 0 ? events : events.slice(0, end + 1))) return false;
      if (end >= 0) queueMicrotask(finish);
      return true;
    },
    finish,
  );
  return finish;
}
