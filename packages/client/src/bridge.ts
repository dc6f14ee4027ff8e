/**
 * executionBridge: live updates of executions over WebSocket, falling back to Server-Sent Events,
 * with the seed's API (`connectWebSocket`, `subscribe`, `on`, `pauseExecution`,
 * `resumeExecution`, `cancelExecution`, `disconnect`).
 *
 * Per execution the bridge keeps a state object (the status endpoint's body, kept current by the
 * events), reconnects with capped exponential backoff when a stream drops before the execution's
 * final event, and resumes from the last event id so no event is lost or delivered twice.
 */
import {
  applyStreamEvent,
  type BridgeEvent,
  type BridgeEventType,
  type BridgeTransportKind,
  createInitialState,
  type ExecutionMetrics,
  type ExecutionState,
  type ExecutionStatus,
  type ExecutionStatusBody,
  FINAL_EVENT_TYPES,
  type HealthMetrics,
  isTerminalStatus,
  type StreamMessageType,
} from './bridge-state.ts';
import { type ControlResponse, StrataApiError } from './rest.ts';
import {
  absoluteUrl,
  type EventSourceConstructor,
  type FetchFn,
  openEventSource,
  openWebSocket,
  resolveEventSource,
  isEndedByServer,
  resolveWebSocket,
  type Transport,
  type TransportClose,
  type WebSocketConstructor,
  withScheme,
} from './transports.ts';

/** Each event type's `data`, as the server sends it. */
export interface BridgeEventDataMap {
  state: ExecutionStatusBody;
  'execution-started': { status: ExecutionStatus; [key: string]: unknown };
  'task-assigned': { taskId: string; [key: string]: unknown };
  'task-progress': { taskId: string; status: string; progress?: unknown; [key: string]: unknown };
  /** `reused`: carried over by a re-run from the execution it retries (`originalTaskId`): no agent ran. */
  'task-completed': { taskId: string; result?: unknown; reused?: boolean; originalTaskId?: string; [key: string]: unknown };
  'task-failed': { taskId: string; error: string; willRetry: boolean; retryCount: number; [key: string]: unknown };
  'health-update': HealthMetrics;
  'metrics-update': ExecutionMetrics;
  'execution-paused': { status: ExecutionStatus; [key: string]: unknown };
  'execution-resumed': { status: ExecutionStatus; [key: string]: unknown };
  'execution-completed': { status: ExecutionStatus; completedTasks?: number; failedTasks?: number; [key: string]: unknown };
  'execution-cancelled': { status: ExecutionStatus; completedTasks?: number; failedTasks?: number; [key: string]: unknown };
  error: { status: 'failed'; error: string; [key: string]: unknown };
}

export type StateListener = (state: ExecutionState) => void;
export type EventHandler<T = Record<string, unknown>> = (event: BridgeEvent<T>) => void;

export interface ReconnectOptions {
  /** First delay before reconnecting, in ms (default 500). Doubles each failed attempt. */
  initialMs?: number;
  /** Longest delay, in ms (default 30 000). */
  maxMs?: number;
  /** Consecutive failed attempts before giving up (default: never give up). */
  maxAttempts?: number;
}

export interface ExecutionBridgeOptions {
  /**
   * A Bearer token (API token or session token). Without one, a browser's session cookie is used.
   * Where a transport cannot send it as a header (a browser's WebSocket or EventSource), the
   * bridge trades it for a single-use stream ticket first (`POST /api/executions/:id/stream-ticket`).
   */
  token?: string;
  /** fetch for control calls (and, in Node, the SSE requests). */
  fetch?: FetchFn;
  /** WebSocket class; default: the platform's, else the `ws` package in Node. */
  WebSocket?: WebSocketConstructor;
  /** EventSource class; default: the platform's, else the `eventsource` package in Node. */
  EventSource?: EventSourceConstructor;
  /** 'auto' (default): WebSocket, SSE when the WebSocket cannot be opened. 'sse': SSE only. 'websocket': no fallback. */
  transport?: 'auto' | 'sse' | 'websocket';
  reconnect?: ReconnectOptions;
  /**
   * Open streams with a stream ticket in `?access_token=` (fetched with the token) instead of the
   * Authorization header. Default: only when the transport cannot send headers (browser
   * WebSocket / EventSource). The token itself never goes into a URL.
   */
  tokenInQuery?: boolean;
  /** Where control calls go for an execution the bridge is not connected to (default: the page's origin). */
  baseUrl?: string;
}

export interface ConnectOptions {
  /** Replay the events after this id once the state arrives (0: every event from the first). Default: only new events. */
  after?: number;
}

/** The error a failed connect rejects with. */
export class BridgeConnectionError extends Error {
  /** HTTP status when the platform reported one (the `eventsource` package does). */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'BridgeConnectionError';
    this.status = status;
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

interface Connection {
  executionId: string;
  url: URL;
  state: ExecutionState;
  /** A `state` message has arrived. */
  ready: boolean;
  /** Replay point asked for on the first connection. */
  initialAfter: number | null;
  /** Id of the last `state` snapshot: events up to it are already in the state. */
  snapshotId: number;
  transport: Transport | null;
  /** The WebSocket could not be opened but SSE could: stay on SSE. */
  sseOnly: boolean;
  /** Consecutive failed attempts. */
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Disconnected, finished or given up: nothing more happens. */
  stopped: boolean;
  /** Bumped per attempt so late callbacks of an older one are ignored. */
  generation: number;
  pending: Deferred | null;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const noop = () => {};

function report(error: unknown) {
  console.error('[executionBridge] a listener threw:', error);
}

function parseMessage(text: string): BridgeEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const event = value as Partial<BridgeEvent>;
  if (typeof event.type !== 'string') return null;
  const id = typeof event.id === 'number' ? event.id : Number(event.id);
  if (!Number.isFinite(id)) return null;
  return { id, type: event.type, executionId: String(event.executionId ?? ''), timestamp: String(event.timestamp ?? ''), data: (event.data ?? {}) as Record<string, unknown> };
}

export class ExecutionBridge {
  readonly #options: ExecutionBridgeOptions;
  readonly #connections = new Map<string, Connection>();
  readonly #listeners = new Map<string, Set<StateListener>>();
  readonly #handlers = new Map<string, Set<{ handler: EventHandler<never>; executionId: string | undefined }>>();

  constructor(options: ExecutionBridgeOptions = {}) {
    this.#options = { ...options };
  }

  /**
   * Opens the live stream of an execution at `url` (`ws(s)://…/api/executions/:id/stream`;
   * http(s) works too) and resolves once its current state has arrived. When the WebSocket cannot
   * be opened it reads the same path as Server-Sent Events instead. Rejects when neither works.
   * Connecting again to the same URL while connected returns the same connection.
   */
  connectWebSocket(executionId: string, url: string | URL, options: ConnectOptions = {}): Promise<void> {
    const target = absoluteUrl(url);
    const existing = this.#connections.get(executionId);
    if (existing && !existing.stopped && existing.url.href === target.href) {
      return existing.pending ? existing.pending.promise : Promise.resolve();
    }
    if (existing) this.#stop(existing, { reject: 'reconnected elsewhere' });
    const connection: Connection = {
      executionId,
      url: target,
      state: createInitialState(executionId),
      ready: false,
      initialAfter: options.after ?? null,
      snapshotId: -1,
      transport: null,
      sseOnly: false,
      failures: 0,
      timer: undefined,
      stopped: false,
      generation: 0,
      pending: deferred(),
    };
    this.#connections.set(executionId, connection);
    const promise = connection.pending!.promise;
    void this.#attempt(connection);
    return promise;
  }

  /**
   * Calls `listener` with the execution's state after every change (and at once when the state
   * is already known). The state objects are new on each change; treat them as read-only.
   */
  subscribe(executionId: string, listener: StateListener): () => void {
    let set = this.#listeners.get(executionId);
    if (!set) {
      set = new Set();
      this.#listeners.set(executionId, set);
    }
    set.add(listener);
    const connection = this.#connections.get(executionId);
    if (connection?.ready) {
      try {
        listener(connection.state);
      } catch (error) {
        report(error);
      }
    }
    return () => {
      const current = this.#listeners.get(executionId);
      current?.delete(listener);
      if (current && current.size === 0) this.#listeners.delete(executionId);
    };
  }

  /**
   * Calls `handler` with every event of this type (`'*'`: every type, `state` included), of one
   * execution or of all. Returns a function that removes it.
   */
  on<K extends keyof BridgeEventDataMap>(eventType: K, handler: EventHandler<BridgeEventDataMap[K]>, executionId?: string): () => void;
  on(eventType: '*' | (string & {}), handler: EventHandler, executionId?: string): () => void;
  on(eventType: string, handler: EventHandler<never>, executionId?: string): () => void {
    let set = this.#handlers.get(eventType);
    if (!set) {
      set = new Set();
      this.#handlers.set(eventType, set);
    }
    const entry = { handler, executionId };
    set.add(entry);
    return () => {
      const current = this.#handlers.get(eventType);
      current?.delete(entry);
      if (current && current.size === 0) this.#handlers.delete(eventType);
    };
  }

  /** The current state of a connected execution. */
  getState(executionId: string): ExecutionState | undefined {
    const connection = this.#connections.get(executionId);
    return connection?.ready ? connection.state : undefined;
  }

  pauseExecution(executionId: string): Promise<ControlResponse> {
    return this.#control(executionId, 'pause');
  }

  resumeExecution(executionId: string): Promise<ControlResponse> {
    return this.#control(executionId, 'resume');
  }

  cancelExecution(executionId: string): Promise<ControlResponse> {
    return this.#control(executionId, 'cancel');
  }

  /**
   * Closes the execution's stream and stops reconnecting. Subscriptions stay until their
   * unsubscribe functions are called; they get one last state with `connected: false`.
   */
  disconnect(executionId: string): void {
    const connection = this.#connections.get(executionId);
    if (!connection) return;
    this.#connections.delete(executionId);
    this.#stop(connection, { reject: 'disconnected' });
  }

  /** Disconnects every execution. */
  disconnectAll(): void {
    for (const executionId of [...this.#connections.keys()]) this.disconnect(executionId);
  }

  // ---- connection lifecycle -------------------------------------------------------------------

  #stop(connection: Connection, how: { reject?: string }) {
    const wasConnected = connection.state.connected;
    connection.stopped = true;
    connection.generation++;
    clearTimeout(connection.timer);
    connection.transport?.close();
    connection.transport = null;
    if (connection.pending && how.reject) {
      // Nobody need catch a connect that was abandoned on purpose.
      connection.pending.promise.catch(noop);
      connection.pending.reject(new BridgeConnectionError(`Connection to execution ${connection.executionId} ${how.reject}`));
      connection.pending = null;
    }
    if (connection.ready && wasConnected) this.#setState(connection, { ...connection.state, connected: false });
  }

  async #attempt(connection: Connection) {
    const generation = ++connection.generation;
    const mode = this.#options.transport ?? 'auto';
    const useSse = mode === 'sse' || connection.sseOnly;
    if (!useSse) {
      const ws = await resolveWebSocket(this.#options.WebSocket);
      if (connection.stopped || generation !== connection.generation) return;
      if (ws) return this.#openWebSocket(connection, generation, ws, mode === 'auto');
      if (mode === 'websocket') return this.#attemptFailed(connection, { opened: false, reason: 'no WebSocket implementation available' }, 'websocket');
    }
    return this.#openSse(connection, generation, !useSse);
  }

  /** The event id a new stream resumes after, or null for "only new events". */
  #resumePoint(connection: Connection): number | null {
    return connection.ready ? connection.state.lastEventId : connection.initialAfter;
  }

  /** Whether this stream goes with a ticket: there is a token, and it cannot (or should not) go as a header. */
  #usesTicket(canSendHeaders: boolean): boolean {
    return Boolean(this.#options.token) && (this.#options.tokenInQuery ?? !canSendHeaders);
  }

  /** A fresh single-use stream ticket for the connection's execution, bought with the token. */
  async #streamTicket(connection: Connection): Promise<{ ticket: string } | { failed: TransportClose }> {
    const url = this.#executionUrl(connection.executionId, 'stream-ticket');
    const doFetch = this.#options.fetch ?? globalThis.fetch.bind(globalThis);
    try {
      const response = await doFetch(url.href, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#options.token}` },
        body: '{}',
      });
      const body = (await response.json().catch(() => undefined)) as { ticket?: unknown; error?: unknown } | undefined;
      if (response.ok && typeof body?.ticket === 'string') return { ticket: body.ticket };
      const error = typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`;
      return { failed: { opened: false, code: response.status, reason: `stream ticket refused: ${error} (HTTP ${response.status})` } };
    } catch (error) {
      return { failed: { opened: false, reason: `stream ticket request failed: ${error instanceof Error ? error.message : String(error)}` } };
    }
  }

  /**
   * The credentials of one stream: the token as a header where the transport can send it, else
   * (when there is a token) a ticket in the URL; nothing when the browser's cookie will do.
   * False when no ticket could be had (the attempt has then failed).
   */
  async #authorize(connection: Connection, generation: number, url: URL, canSendHeaders: boolean, kind: BridgeTransportKind): Promise<Record<string, string> | false> {
    if (!this.#usesTicket(canSendHeaders)) return this.#options.token && canSendHeaders ? { authorization: `Bearer ${this.#options.token}` } : {};
    const answer = await this.#streamTicket(connection);
    if (connection.stopped || generation !== connection.generation) return false;
    if ('failed' in answer) {
      this.#attemptFailed(connection, answer.failed, kind);
      return false;
    }
    url.searchParams.set('access_token', answer.ticket);
    return {};
  }

  async #openWebSocket(connection: Connection, generation: number, ws: NonNullable<Awaited<ReturnType<typeof resolveWebSocket>>>, fallback: boolean) {
    const after = this.#resumePoint(connection);
    const url = withScheme(connection.url, 'ws');
    if (after !== null) url.searchParams.set('after', String(after));
    const headers = await this.#authorize(connection, generation, url, ws.headers, 'websocket');
    if (!headers) return;
    const session = this.#session(connection, generation, 'websocket', after);
    connection.transport = openWebSocket(ws, url, headers, {
      open: session.open,
      message: session.message,
      closed: (info) => {
        if (connection.stopped || generation !== connection.generation) return;
        connection.transport = null;
        if (session.gotState()) return this.#dropped(connection, info, 'websocket');
        // Never delivered a state: try the same path as Server-Sent Events at once.
        if (fallback) return void this.#openSse(connection, generation, true);
        this.#attemptFailed(connection, info, 'websocket');
      },
    });
  }

  async #openSse(connection: Connection, generation: number, isFallback: boolean) {
    const es = await resolveEventSource(this.#options.EventSource);
    if (connection.stopped || generation !== connection.generation) return;
    if (!es) return this.#attemptFailed(connection, { opened: false, reason: 'no EventSource implementation available' }, 'sse');
    const after = this.#resumePoint(connection);
    const url = withScheme(connection.url, 'http');
    if (after !== null) url.searchParams.set('lastEventId', String(after));
    const auth = await this.#authorize(connection, generation, url, es.headers, 'sse');
    if (!auth) return;
    const headers: Record<string, string> = { ...auth };
    if (after !== null) headers['last-event-id'] = String(after);
    const session = this.#session(connection, generation, 'sse', after, () => {
      if (isFallback) connection.sseOnly = true;
    });
    connection.transport = openEventSource(es, url, es.headers ? headers : {}, this.#options.fetch, {
      open: session.open,
      message: session.message,
      closed: (info) => {
        if (connection.stopped || generation !== connection.generation) return;
        connection.transport = null;
        if (session.gotState()) return this.#dropped(connection, info, 'sse');
        this.#attemptFailed(connection, info, 'sse');
      },
    });
  }

  /** The message handling of one stream. */
  #session(connection: Connection, generation: number, kind: BridgeTransportKind, after: number | null, onState: () => void = noop) {
    let gotState = false;
    // Ids at or below this were delivered before (by an earlier stream of this connection).
    let seen = after ?? Number.NEGATIVE_INFINITY;
    return {
      gotState: () => gotState,
      open: () => {},
      message: (text: string) => {
        if (connection.stopped || generation !== connection.generation) return;
        const event = parseMessage(text);
        if (!event) return;
        if (event.executionId && event.executionId !== connection.executionId) return;
        if (event.type === 'state') {
          const first = !gotState;
          gotState = true;
          onState();
          connection.snapshotId = event.id;
          connection.failures = 0;
          const next = applyStreamEvent(connection.state, event);
          connection.ready = true;
          this.#setState(connection, {
            ...next,
            // Resuming: events after `after` are still to come (replayed), so that is where we are.
            lastEventId: first ? (after ?? event.id) : connection.state.lastEventId,
            connected: true,
            transport: kind,
            connectionError: null,
          });
          const pending = connection.pending;
          connection.pending = null;
          pending?.resolve();
          this.#dispatch(event);
          return;
        }
        if (event.id <= seen) return;
        seen = event.id;
        // Events the snapshot already reflects (replayed after a resume) are delivered to
        // handlers but not applied a second time.
        let next = event.id > connection.snapshotId ? applyStreamEvent(connection.state, event) : connection.state;
        next = { ...next, lastEventId: Math.max(connection.state.lastEventId, event.id) };
        const final = FINAL_EVENT_TYPES.has(event.type) && isTerminalStatus(next.execution.status);
        if (final) {
          // The server closes after this; so do we, and nothing reconnects.
          connection.stopped = true;
          clearTimeout(connection.timer);
          connection.transport?.close();
          connection.transport = null;
          next = { ...next, connected: false, finished: true };
        }
        this.#setState(connection, next);
        this.#dispatch(event);
      },
    };
  }

  /** A stream that had delivered its state ended before the final event. */
  #dropped(connection: Connection, info: TransportClose, kind: BridgeTransportKind) {
    // The server ended it because the credential ended or access was removed: coming back
    // would only be refused.
    if (isEndedByServer(info.code)) {
      connection.stopped = true;
      this.#setState(connection, { ...connection.state, connected: false, transport: kind, connectionError: describe(info, kind) });
      return;
    }
    // Settled (its final event written, completedAt set), the stream ends and nothing more will
    // come. A status of failed or cancelled alone is not enough: the final event follows once
    // the tasks still running have finished.
    if (isTerminalStatus(connection.state.execution.status) && connection.state.execution.completedAt) {
      connection.stopped = true;
      this.#setState(connection, { ...connection.state, connected: false, finished: true });
      return;
    }
    this.#setState(connection, { ...connection.state, connected: false, transport: kind });
    this.#scheduleReconnect(connection, describe(info, kind));
  }

  /** An attempt delivered no state. The first connect gives up at once; later ones back off. */
  #attemptFailed(connection: Connection, info: TransportClose, kind: BridgeTransportKind) {
    const message = describe(info, kind);
    if (!connection.ready) {
      const pending = connection.pending;
      connection.pending = null;
      connection.stopped = true;
      if (this.#connections.get(connection.executionId) === connection) this.#connections.delete(connection.executionId);
      pending?.reject(new BridgeConnectionError(`Could not open the stream of execution ${connection.executionId}: ${message}`, info.code));
      return;
    }
    this.#scheduleReconnect(connection, message);
  }

  #scheduleReconnect(connection: Connection, reason: string) {
    const { initialMs = 500, maxMs = 30_000, maxAttempts = Number.POSITIVE_INFINITY } = this.#options.reconnect ?? {};
    connection.failures++;
    if (connection.failures > maxAttempts) {
      connection.stopped = true;
      this.#setState(connection, { ...connection.state, connected: false, connectionError: `gave up reconnecting: ${reason}` });
      return;
    }
    this.#setState(connection, { ...connection.state, connected: false, connectionError: reason });
    const base = Math.min(maxMs, initialMs * 2 ** (connection.failures - 1));
    // A little jitter so many clients dropped at once do not return at once.
    const delay = Math.min(maxMs, base * (0.8 + Math.random() * 0.4));
    clearTimeout(connection.timer);
    connection.timer = setTimeout(() => {
      connection.timer = undefined;
      if (!connection.stopped) void this.#attempt(connection);
    }, delay);
  }

  // ---- fan-out --------------------------------------------------------------------------------

  #setState(connection: Connection, state: ExecutionState) {
    connection.state = state;
    // Listeners hear of an execution once its state is known.
    if (!connection.ready) return;
    const listeners = this.#listeners.get(connection.executionId);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        report(error);
      }
    }
  }

  #dispatch(event: BridgeEvent) {
    for (const type of [event.type, '*']) {
      const handlers = this.#handlers.get(type);
      if (!handlers) continue;
      for (const { handler, executionId } of [...handlers]) {
        if (executionId !== undefined && executionId !== event.executionId) continue;
        try {
          (handler as EventHandler)(event);
        } catch (error) {
          report(error);
        }
      }
    }
  }

  // ---- control --------------------------------------------------------------------------------

  /** Where an execution's control calls and stream tickets go: beside the stream the bridge is connected to, else under `baseUrl`. */
  #executionUrl(executionId: string, action: 'pause' | 'resume' | 'cancel' | 'stream-ticket'): URL {
    const connection = this.#connections.get(executionId);
    if (connection) {
      const url = withScheme(connection.url, 'http');
      url.search = '';
      url.hash = '';
      if (/\/stream\/?$/.test(url.pathname)) {
        url.pathname = url.pathname.replace(/\/stream\/?$/, `/${action}`);
        return url;
      }
      return new URL(`/api/executions/${encodeURIComponent(executionId)}/${action}`, url.origin);
    }
    const base = this.#options.baseUrl ?? (globalThis as { location?: { origin: string } }).location?.origin;
    if (!base) throw new Error(`Not connected to execution ${executionId} and no baseUrl configured`);
    return new URL(`${base.replace(/\/$/, '')}/api/executions/${encodeURIComponent(executionId)}/${action}`);
  }

  async #control(executionId: string, action: 'pause' | 'resume' | 'cancel'): Promise<ControlResponse> {
    const url = this.#executionUrl(executionId, action);
    const doFetch = this.#options.fetch ?? globalThis.fetch.bind(globalThis);
    const response = await doFetch(url.href, {
      method: 'POST',
      // An empty JSON object, as the seed allows: a body-less POST reads as a form post to
      // frameworks' CSRF checks.
      headers: { 'content-type': 'application/json', ...(this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {}) },
      body: '{}',
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
    if (!response.ok || (error !== undefined && (body as { success?: unknown }).success !== true)) {
      throw new StrataApiError(response.status, typeof error === 'string' ? error : `HTTP ${response.status}`, body);
    }
    return body as ControlResponse;
  }
}

function describe(info: TransportClose, kind: BridgeTransportKind): string {
  const what = kind === 'websocket' ? 'WebSocket' : 'event stream';
  const parts = [info.reason || (info.opened ? `${what} closed` : `${what} could not be opened`)];
  if (info.code !== undefined && !(info.reason ?? '').includes(String(info.code))) parts.push(`(${kind === 'sse' ? 'HTTP ' : 'code '}${info.code})`);
  return parts.join(' ');
}

/** The shared bridge, as the seed imports it. Token-less: a browser's session cookie authenticates it. */
export const executionBridge = new ExecutionBridge();

export type { BridgeEvent, BridgeEventType, ExecutionState, StreamMessageType };
