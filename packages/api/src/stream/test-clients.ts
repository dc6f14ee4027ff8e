/**
 * Test-only: the stream endpoint on a real HTTP server (SSE and WebSocket, as the web app's
 * Node server mounts them), and minimal clients that keep what the server said to the end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { StatusCache } from '../status-cache.ts';
import { type ApiHarness, createApiHarness } from '../testing.ts';
import { StreamGuard } from './guard.ts';
import { EventHub } from './hub.ts';
import type { StreamDeps } from './session.ts';
import { serveSse } from './sse.ts';
import { createStreamUpgradeHandler } from './ws.ts';

const STREAM_PATH = /^\/api\/executions\/([^/]+)\/stream\/?$/;

export interface StreamTestServer {
  /** `http://127.0.0.1:port` */
  url: string;
  close(): Promise<void>;
}

export async function startStreamServer(deps: StreamDeps): Promise<StreamTestServer> {
  const upgrade = createStreamUpgradeHandler(async () => deps);
  const server: Server = createServer((req, res) => {
    const match = STREAM_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (!match) return void res.writeHead(404).end();
    serveSse(req, res, deps, decodeURIComponent(match[1]!)).catch(() => res.destroy());
  });
  server.on('upgrade', (req, socket, head) => void upgrade(req, socket, head));
  // Upgraded sockets leave the server's keeping: closing it ends them too, as a process exit would.
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async close() {
      const closing = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}

export interface SseFrame {
  event: string;
  data: Record<string, unknown>;
}

export interface OpenSse {
  status: number;
  headers: Headers;
  /** The error body of a refused request. */
  body?: { error: string };
  frames: SseFrame[];
  /** Resolves with every frame once the server ended the response. */
  ended: Promise<SseFrame[]>;
  /** Resolves once the first frame (the state) has arrived. */
  ready: Promise<void>;
  abort(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<OpenSse> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  if (!response.ok || !response.body) {
    const never = new Promise<never>(() => {});
    return { status: response.status, headers: response.headers, body: (await response.json()) as { error: string }, frames: [], ended: Promise.resolve([]), ready: never, abort: () => {} };
  }
  const frames: SseFrame[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const body = response.body;
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (data.length === 0) continue;
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
          frames.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
          markReady();
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return frames;
  })();
  // A stream nobody waits on may be cut when the test server closes.
  ended.catch(() => {});
  return { status: response.status, headers: response.headers, frames, ended, ready, abort: () => controller.abort() };
}

export interface OpenWs {
  /** 101 when upgraded, else the refusal's status. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: { error: string };
  messages: { type: string; [key: string]: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  socket?: WebSocket;
}

/** Resolves once the upgrade was refused, or once the first message (the state) arrived. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<OpenWs> {
  return new Promise((resolve, reject) => {
    const messages: OpenWs['messages'] = [];
    const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    let resolveClosed!: (value: { code: number; reason: string }) => void;
    const closed = new Promise<{ code: number; reason: string }>((r) => {
      resolveClosed = r;
    });
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as { error: string }, messages, closed }));
    });
    socket.on('message', (message) => {
      messages.push(JSON.parse(String(message)) as OpenWs['messages'][number]);
      if (messages.length === 1) resolve({ status: 101, headers: {}, messages, closed, socket });
    });
    socket.on('close', (code, reason) => resolveClosed({ code, reason: String(reason) }));
    socket.on('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

export interface StreamTestbed {
  h: ApiHarness;
  hub: EventHub;
  /** Its interval is an hour: tests call `guard.check()` instead of waiting. */
  guard: StreamGuard;
  deps: StreamDeps;
  server: StreamTestServer;
  /** A new user with a workspace and a running execution (no worker: it stays open); `start()` starts another of the same strategy. */
  watcher(): Promise<{ token: string; userId: string; workspaceId: string; executionId: string; start(): Promise<string>; stream(id?: string): string }>;
  close(): Promise<void>;
}

/** A fresh database, a hub, a guard and the stream endpoint on a real HTTP server. */
export async function createStreamTestbed(options: { maxPerCredential: number; origin?: string }): Promise<StreamTestbed> {
  const h = await createApiHarness();
  const hub = new EventHub({ db: h.database.db, listenSql: h.database.sql });
  const guard = new StreamGuard({ db: h.database.db, maxPerCredential: options.maxPerCredential, checkIntervalMs: 3_600_000 });
  const deps: StreamDeps = { db: h.database.db, hub, statusCache: new StatusCache(), guard, rateLimits: { status: 0 }, origin: options.origin };
  const server = await startStreamServer(deps);
  let users = 0;
  return {
    h,
    hub,
    guard,
    deps,
    server,
    async watcher() {
      const { token, userId } = await h.signup(`watcher${++users}@example.com`);
      const workspaceId = await h.createWorkspace(token);
      const strategy = await h.call('POST', '/api/strategies', {
        token,
        body: { workspaceId, name: 'watched', items: [{ key: 'a', description: 'A', agentType: 'analysis' }] },
      });
      const start = async () => {
        const started = await h.call('POST', '/api/executions/start', { token, body: { workspaceId, strategyId: strategy.body.strategy.id } });
        if (started.status !== 200) throw new Error(`start failed: ${started.status} ${JSON.stringify(started.body)}`);
        return started.body.executionId as string;
      };
      const executionId = await start();
      return { token, userId, workspaceId, executionId, start, stream: (id = executionId) => `${server.url}/api/executions/${id}/stream` };
    },
    async close() {
      await server.close();
      await guard.stop();
      await hub.stop();
      await h.close();
    },
  };
}
