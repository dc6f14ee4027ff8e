/**
 * The two ways the bridge reads an execution's stream — WebSocket and Server-Sent Events — behind
 * one small interface, on any runtime: the platform's own `WebSocket` / `EventSource` where they
 * exist (browsers, Node 22+ for WebSocket), otherwise the `ws` and `eventsource` packages, loaded
 * with a dynamic `import()` only in Node so browser bundles never pull them in.
 *
 * Credentials: where a transport can send headers (the `ws` package, Node's built-in WebSocket,
 * the `eventsource` package through its `fetch` option) the token goes in `Authorization: Bearer`;
 * elsewhere (a browser) the `strata_session` cookie goes along by itself, and with a token given
 * explicitly the bridge first trades it for a single-use stream ticket, sent as `?access_token=`
 * (a token itself never goes into a URL).
 */
import { BRIDGE_EVENT_TYPES } from './bridge-state.ts';

/** What the bridge needs of a WebSocket: the WHATWG shape, which `ws` and browsers share. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: the browser's, Node's, the `ws` package's, or a compatible one. (Its further
 * arguments differ by implementation, hence `never`: any class taking a URL first fits.)
 */
export type WebSocketConstructor = new (url: string, ...rest: never[]) => WebSocketLike;
type WithOptions = new (url: string, options?: { headers: Record<string, string> }) => WebSocketLike;

/** What the bridge needs of an EventSource: the WHATWG shape. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** An EventSource class: the browser's, the `eventsource` package's (v3+), or a compatible one. */
export type EventSourceConstructor = new (url: string, init?: Record<string, unknown>) => EventSourceLike;

export type FetchFn = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface ResolvedWebSocket {
  ctor: WebSocketConstructor;
  /** True when `new ctor(url, { headers })` sends those headers (ws, Node's built-in WebSocket). */
  headers: boolean;
}

export interface ResolvedEventSource {
  ctor: EventSourceConstructor;
  /** True when the class takes a `fetch` option (the `eventsource` package), so headers can be set. */
  headers: boolean;
}

const runtime = globalThis as {
  WebSocket?: WebSocketConstructor;
  EventSource?: EventSourceConstructor;
  process?: { versions?: { node?: string } };
  location?: { href: string };
};

/** True in Node (and runtimes that present themselves as Node). */
export const isNode = () => typeof runtime.process?.versions?.node === 'string';

/** The `ws` package's sockets can `terminate()` and `ping()`; browsers' cannot. */
const isWsPackage = (ctor: unknown) =>
  typeof ctor === 'function' && typeof ctor.prototype?.terminate === 'function' && typeof ctor.prototype?.ping === 'function';

/**
 * The WebSocket class to use: the given one, else the platform's, else (Node only) the `ws`
 * package. Null when there is none (the bridge then uses SSE).
 */
export async function resolveWebSocket(custom?: WebSocketConstructor): Promise<ResolvedWebSocket | null> {
  if (custom) return { ctor: custom, headers: isWsPackage(custom) || (isNode() && custom === runtime.WebSocket) };
  // Node's built-in WebSocket (undici) takes `{ headers }` in its second argument.
  if (runtime.WebSocket) return { ctor: runtime.WebSocket, headers: isNode() };
  if (!isNode()) return null;
  try {
    const mod = (await import('ws')) as unknown as { default?: unknown; WebSocket?: unknown };
    const ctor = (mod.WebSocket ?? mod.default) as WebSocketConstructor | undefined;
    return ctor ? { ctor, headers: true } : null;
  } catch {
    return null;
  }
}

/**
 * The EventSource class to use: the given one, else the platform's, else (Node only) the
 * `eventsource` package. A given class other than the platform's is taken to accept the
 * `eventsource` package's `fetch` option (a class that does not simply ignores it).
 */
export async function resolveEventSource(custom?: EventSourceConstructor): Promise<ResolvedEventSource | null> {
  if (custom) return { ctor: custom, headers: custom !== runtime.EventSource };
  if (runtime.EventSource) return { ctor: runtime.EventSource, headers: false };
  if (!isNode()) return null;
  try {
    const mod = (await import('eventsource')) as unknown as { EventSource?: unknown };
    return mod.EventSource ? { ctor: mod.EventSource as EventSourceConstructor, headers: true } : null;
  } catch {
    return null;
  }
}

/** Absolute URL, relative ones resolved against the page in a browser. */
export function absoluteUrl(url: string | URL): URL {
  return new URL(String(url), runtime.location?.href);
}

/** The same URL with the scheme for a transport: ws(s) for WebSocket, http(s) for SSE and control calls. */
export function withScheme(url: URL, kind: 'ws' | 'http'): URL {
  const next = new URL(url.href);
  const secure = next.protocol === 'https:' || next.protocol === 'wss:';
  next.protocol = kind === 'ws' ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:';
  return next;
}

/** How a stream ended: whether it ever opened, and whatever the platform told of why. */
export interface TransportClose {
  opened: boolean;
  /** WebSocket close code, or the HTTP status of a refused SSE request when known. */
  code?: number;
  reason?: string;
}

export interface TransportCallbacks {
  open(): void;
  /** One message's JSON text. */
  message(text: string): void;
  /** Once, when the stream ended or could not be opened (never after `close()` was called). */
  closed(info: TransportClose): void;
}

export interface Transport {
  readonly kind: 'websocket' | 'sse';
  /** Ends the stream; no callback follows. */
  close(): void;
}

const noop = () => {};

const decoder = new TextDecoder();
function messageText(data: unknown): string | null {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return decoder.decode(data);
  if (ArrayBuffer.isView(data)) return decoder.decode(data);
  return null;
}

/** Opens a WebSocket stream; `headers` are sent when the class can send them. */
export function openWebSocket(resolved: ResolvedWebSocket, url: URL, headers: Record<string, string>, callbacks: TransportCallbacks): Transport {
  let opened = false;
  let done = false;
  const finish = (info: TransportClose) => {
    if (done) return;
    done = true;
    callbacks.closed(info);
  };
  let socket: WebSocketLike;
  try {
    socket = resolved.headers && Object.keys(headers).length > 0 ? new (resolved.ctor as unknown as WithOptions)(url.href, { headers }) : new resolved.ctor(url.href);
  } catch (error) {
    queueMicrotask(() => finish({ opened: false, reason: error instanceof Error ? error.message : String(error) }));
    return {
      kind: 'websocket',
      close: () => {
        done = true;
      },
    };
  }
  let lastError: string | undefined;
  socket.onopen = () => {
    if (done) return;
    opened = true;
    callbacks.open();
  };
  socket.onmessage = (event: { data: unknown }) => {
    if (done) return;
    const text = messageText(event.data);
    if (text !== null) callbacks.message(text);
  };
  socket.onerror = (event: { message?: string; error?: { message?: string } }) => {
    lastError = event?.message || event?.error?.message || lastError;
  };
  socket.onclose = (event: { code?: number; reason?: string }) => {
    finish({ opened, ...(event?.code !== undefined ? { code: event.code } : {}), reason: event?.reason || lastError || (opened ? 'connection closed' : 'WebSocket could not be opened') });
  };
  return {
    kind: 'websocket',
    close() {
      done = true;
      // The `ws` package emits 'error' when a connecting socket is closed: keep a listener.
      socket.onopen = noop;
      socket.onmessage = noop;
      socket.onerror = noop;
      socket.onclose = noop;
      try {
        socket.close(1000, 'client disconnect');
      } catch {
        // already closed or closing
      }
    },
  };
}

/** Message types the bridge listens for over SSE (named events fire only their own listeners). */
const SSE_TYPES = ['state', ...BRIDGE_EVENT_TYPES, 'message'];

/**
 * The server ends a stream early when its credential ends (4401) or access to the workspace is
 * removed (4403): WebSocket close codes, and over SSE the same code and reason in a final
 * `close` event.
 */
export const CREDENTIALS_ENDED = 4401;
export const ACCESS_REMOVED = 4403;
export const isEndedByServer = (code: number | undefined) => code === CREDENTIALS_ENDED || code === ACCESS_REMOVED;

/**
 * Opens an SSE stream. The bridge reconnects on its own terms, so the EventSource is closed at
 * its first error rather than left to reconnect by itself.
 */
export function openEventSource(
  resolved: ResolvedEventSource,
  url: URL,
  headers: Record<string, string>,
  fetchImpl: FetchFn | undefined,
  callbacks: TransportCallbacks,
): Transport {
  let opened = false;
  let done = false;
  const finish = (info: TransportClose) => {
    if (done) return;
    done = true;
    callbacks.closed(info);
  };
  const init: Record<string, unknown> = {};
  if (resolved.headers && Object.keys(headers).length > 0) {
    const base = fetchImpl ?? globalThis.fetch.bind(globalThis);
    init.fetch = (input: string | URL, requestInit: RequestInit = {}) => {
      const merged = new Headers(requestInit.headers);
      for (const [name, value] of Object.entries(headers)) merged.set(name, value);
      return base(input, { ...requestInit, headers: merged });
    };
  } else if (resolved.headers && fetchImpl) {
    init.fetch = fetchImpl;
  }
  let source: EventSourceLike;
  try {
    source = new resolved.ctor(url.href, init);
  } catch (error) {
    queueMicrotask(() => finish({ opened: false, reason: error instanceof Error ? error.message : String(error) }));
    return {
      kind: 'sse',
      close: () => {
        done = true;
      },
    };
  }
  source.onopen = () => {
    if (done) return;
    opened = true;
    callbacks.open();
  };
  for (const type of SSE_TYPES) {
    source.addEventListener(type, (event: { data?: unknown }) => {
      if (done) return;
      if (typeof event.data === 'string') callbacks.message(event.data);
    });
  }
  source.addEventListener('close', (event: { data?: unknown }) => {
    if (done) return;
    let said: { code?: unknown; reason?: unknown } = {};
    try {
      said = JSON.parse(String(event.data)) as typeof said;
    } catch {
      // a close without a readable reason is still a close
    }
    try {
      source.close();
    } catch {
      // ignore
    }
    finish({
      opened,
      ...(typeof said.code === 'number' ? { code: said.code } : {}),
      reason: typeof said.reason === 'string' ? said.reason : 'the server closed the stream',
    });
  });
  source.onerror = (event: { code?: number; message?: string }) => {
    try {
      source.close();
    } catch {
      // ignore
    }
    finish({
      opened,
      ...(typeof event?.code === 'number' ? { code: event.code } : {}),
      reason: event?.message || (opened ? 'connection closed' : 'event stream could not be opened'),
    });
  };
  return {
    kind: 'sse',
    close() {
      done = true;
      source.onerror = noop;
      try {
        source.close();
      } catch {
        // ignore
      }
    },
  };
}
