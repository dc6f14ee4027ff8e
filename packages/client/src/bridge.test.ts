import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocketPackage, { WebSocketServer } from 'ws';
import { BridgeConnectionError, ExecutionBridge, type ExecutionBridgeOptions } from './bridge.ts';
import type { AgentTask, BridgeEvent, ExecutionState, ExecutionStatusBody } from './bridge-state.ts';
import { StrataApiError } from './rest.ts';

// ---- a local server speaking the stream contract ----------------------------------------------

const EXEC = 'exec_1732608000000_abc123';
const TOKEN = 'strata_test_token';

type Scripted = { type: string; data: Record<string, unknown> };

const SCRIPT: Scripted[] = [
  { type: 'execution-started', data: { status: 'running' } },
  { type: 'task-assigned', data: { taskId: 't1' } },
  { type: 'task-progress', data: { taskId: 't1', status: 'in_progress', progress: 50 } },
  { type: 'task-completed', data: { taskId: 't1', result: { sent: true } } },
  { type: 'task-assigned', data: { taskId: 't2' } },
  { type: 'task-progress', data: { taskId: 't2', status: 'in_progress' } },
  { type: 'task-failed', data: { taskId: 't2', error: 'SMTP timeout', willRetry: true, retryCount: 1 } },
  { type: 'health-update', data: { score: 90, completionRate: 0.33, errorRate: 0.1, lastChecked: '2025-11-26T20:05:00Z', issues: ['retrying t2'] } },
  { type: 'task-assigned', data: { taskId: 't2' } },
  { type: 'task-progress', data: { taskId: 't2', status: 'in_progress' } },
  { type: 'task-completed', data: { taskId: 't2' } },
  { type: 'execution-paused', data: { status: 'paused' } },
  { type: 'execution-resumed', data: { status: 'running' } },
  { type: 'task-assigned', data: { taskId: 't3' } },
  { type: 'task-progress', data: { taskId: 't3', status: 'in_progress' } },
  { type: 'task-completed', data: { taskId: 't3' } },
  { type: 'metrics-update', data: { totalDuration: 300000, averageTaskDuration: 15000 } },
  { type: 'health-update', data: { score: 100, completionRate: 1, errorRate: 0, lastChecked: '2025-11-26T20:06:00Z', issues: [] } },
  { type: 'execution-completed', data: { status: 'completed', completedTasks: 3, failedTasks: 0, totalTasks: 3 } },
];
const FINAL = new Set(['execution-completed', 'execution-cancelled', 'error']);

function initialBody(): ExecutionStatusBody {
  return {
    execution: { id: EXEC, status: 'pending', strategyId: 'strat_456', startedAt: null, completedAt: null, totalTasks: 3, completedTasks: 0, failedTasks: 0 },
    health: { score: 100, completionRate: 0, errorRate: 0, lastChecked: '2025-11-26T20:00:00Z', issues: [] },
    tasks: ['t1', 't2', 't3'].map((id, i) => ({ id, status: 'pending', agent_type: ['email', 'content', 'research'][i], priority: 'high', retry_count: 0, max_retries: 3 })),
    metrics: { totalDuration: 0, averageTaskDuration: 0 },
  };
}

/** The server's own (independent, deliberately plain) view of the status body after some events. */
function serverSnapshot(events: BridgeEvent[]): ExecutionStatusBody {
  const body = initialBody();
  for (const event of events) {
    const task = body.tasks.find((t) => t.id === event.data.taskId) as AgentTask | undefined;
    if (event.type === 'task-assigned' && task) Object.assign(task, { status: 'assigned', assigned_at: event.timestamp });
    if (event.type === 'task-progress' && task) Object.assign(task, { status: 'in_progress' }, 'progress' in event.data ? { progress: event.data.progress } : {});
    if (event.type === 'task-completed' && task) Object.assign(task, { status: 'completed', completed_at: event.timestamp }, 'result' in event.data ? { result: event.data.result } : {});
    if (event.type === 'task-failed' && task) Object.assign(task, { status: event.data.willRetry ? 'pending' : 'failed', retry_count: event.data.retryCount, error: event.data.error });
    if (event.type === 'health-update') body.health = event.data as ExecutionStatusBody['health'];
    if (event.type === 'metrics-update') body.metrics = event.data;
    if (event.type.startsWith('execution-') || event.type === 'error') body.execution.status = String(event.data.status);
    if (FINAL.has(event.type)) body.execution.completedAt = event.timestamp;
  }
  body.execution.completedTasks = body.tasks.filter((t) => t.status === 'completed').length;
  body.execution.failedTasks = body.tasks.filter((t) => t.status === 'failed').length;
  return body;
}

interface StreamServerOptions {
  script?: Scripted[];
  /** Answer WebSocket upgrades with this HTTP status instead of upgrading. */
  refuseUpgrade?: number;
  /** Per connection (by order): drop it (no close handshake) after sending this many events. */
  dropAfter?: (number | undefined)[];
  /** End every stream as the server does when its credential ends: after this many events, with this code and reason. */
  endAfter?: { events: number; code: number; reason: string };
  /** Publish one event every this many ms once the first stream has its state. */
  intervalMs?: number;
  /** Publish the whole script before anyone connects (a settled execution). */
  settled?: boolean;
  /** Answers of the control endpoints. */
  control?: Record<string, { status: number; body: unknown }>;
  /** Changes the state message's body (e.g. what the database says before the final event). */
  snapshot?: (body: ExecutionStatusBody, published: BridgeEvent[]) => ExecutionStatusBody;
}

interface SeenConnection {
  kind: 'websocket' | 'sse';
  url: URL;
  authorization: string | undefined;
  lastEventIdHeader: string | undefined;
  after: number | null;
}

class StreamServer {
  readonly published: BridgeEvent[] = [];
  readonly connections: SeenConnection[] = [];
  readonly upgradeAttempts: URL[] = [];
  readonly controls: { method: string; path: string; authorization: string | undefined; contentType?: string | undefined }[] = [];
  /** Stream tickets handed out (by number), and whether each was used. */
  readonly tickets = new Map<string, { used: boolean }>();
  url = '';
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #pumps = new Set<() => void>();
  readonly #timers = new Set<ReturnType<typeof setInterval>>();
  #publisher: ReturnType<typeof setInterval> | undefined;
  readonly #options: StreamServerOptions;
  readonly #script: Scripted[];

  constructor(options: StreamServerOptions = {}) {
    this.#options = options;
    this.#script = options.script ?? SCRIPT;
    if (options.settled) while (this.published.length < this.#script.length) this.#publishNext();
    this.#server = createServer((req, res) => this.#http(req, res));
    this.#server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  streamUrl(scheme = 'ws', id = EXEC) {
    return `${scheme}://${this.url}/api/executions/${id}/stream`;
  }

  async close() {
    clearInterval(this.#publisher);
    for (const timer of this.#timers) clearInterval(timer);
    for (const client of this.#wss.clients) client.terminate();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #publishNext() {
    const step = this.#script[this.published.length];
    if (!step) return;
    this.published.push({ id: this.published.length + 1, type: step.type, executionId: EXEC, timestamp: new Date(Date.UTC(2025, 10, 26, 20, 0, this.published.length)).toISOString(), data: step.data });
    for (const pump of [...this.#pumps]) pump();
  }

  #startPublishing() {
    if (this.#publisher || this.#options.settled) return;
    this.#publisher = setInterval(() => {
      this.#publishNext();
      if (this.published.length >= this.#script.length) clearInterval(this.#publisher);
    }, this.#options.intervalMs ?? 5);
  }

  /** As the real server: the Bearer header, or an unused stream ticket in `?access_token=` (never the token itself). */
  #authorized(req: IncomingMessage, url: URL) {
    if (req.headers.authorization === `Bearer ${TOKEN}`) return true;
    const ticket = this.tickets.get(url.searchParams.get('access_token') ?? '');
    if (!ticket || ticket.used) return false;
    ticket.used = true;
    return true;
  }

  /** Runs one stream: state, then the events after the resume point, then live ones; closes after the final event. */
  #run(sink: { send(event: BridgeEvent): void; close(): void; drop(): void; end(code: number, reason: string): void }, after: number | null) {
    const index = this.connections.length - 1;
    const dropAfter = this.#options.dropAfter?.[index];
    const latest = this.published.length;
    const body = serverSnapshot(this.published);
    const data = this.#options.snapshot ? this.#options.snapshot(body, this.published) : body;
    sink.send({ id: latest, type: 'state', executionId: EXEC, timestamp: new Date().toISOString(), data: data as unknown as Record<string, unknown> });
    // A settled execution with no resume point: its final event again, as the real server does.
    let cursor = after ?? (this.#options.settled ? Math.max(0, latest - 1) : latest);
    let sent = 0;
    let done = false;
    const pump = () => {
      while (!done && cursor < this.published.length) {
        const event = this.published[cursor++]!;
        sink.send(event);
        sent++;
        if (FINAL.has(event.type)) {
          done = true;
          this.#pumps.delete(pump);
          sink.close();
        } else if (dropAfter !== undefined && sent >= dropAfter) {
          done = true;
          this.#pumps.delete(pump);
          sink.drop();
        } else if (this.#options.endAfter && sent >= this.#options.endAfter.events) {
          done = true;
          this.#pumps.delete(pump);
          sink.end(this.#options.endAfter.code, this.#options.endAfter.reason);
        }
      }
    };
    this.#pumps.add(pump);
    pump();
    this.#startPublishing();
    return () => {
      done = true;
      this.#pumps.delete(pump);
    };
  }

  #http(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const control = /^\/api\/executions\/([^/]+)\/(pause|resume|cancel)$/.exec(url.pathname);
    if (control && req.method === 'POST') {
      this.controls.push({ method: req.method, path: url.pathname, authorization: req.headers.authorization, contentType: req.headers['content-type'] });
      const answer = this.#options.control?.[control[2]!] ?? {
        status: 200,
        body: { success: true, message: `Execution ${control[2]}d`, execution: { id: control[1], status: { pause: 'paused', resume: 'running', cancel: 'cancelled' }[control[2]!] } },
      };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      return;
    }
    if (/^\/api\/executions\/[^/]+\/stream-ticket$/.test(url.pathname) && req.method === 'POST') {
      this.controls.push({ method: req.method, path: url.pathname, authorization: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Unauthorized' }));
      const ticket = `stkt_${this.tickets.size + 1}`;
      this.tickets.set(ticket, { used: false });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ticket, expiresAt: new Date(Date.now() + 60_000).toISOString() }));
      return;
    }
    if (!/^\/api\/executions\/[^/]+\/stream$/.test(url.pathname)) return void res.writeHead(404).end();
    if (!this.#authorized(req, url)) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Unauthorized' }));
    const header = req.headers['last-event-id'] as string | undefined;
    const raw = header ?? url.searchParams.get('lastEventId');
    this.connections.push({ kind: 'sse', url, authorization: req.headers.authorization, lastEventIdHeader: header, after: raw ? Number(raw) : null });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('retry: 2000\n\n');
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 10);
    this.#timers.add(heartbeat);
    const stop = this.#run(
      {
        send: (event) => res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
        close: () => {
          clearInterval(heartbeat);
          res.end();
        },
        drop: () => {
          clearInterval(heartbeat);
          // Drop without ending the response, once what was written has gone out.
          res.write(': bye\n\n', () => res.socket?.destroy());
        },
        end: (code, reason) => {
          clearInterval(heartbeat);
          res.end(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
        },
      },
      raw ? Number(raw) : null,
    );
    res.on('close', () => {
      clearInterval(heartbeat);
      stop();
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'http://x');
    this.upgradeAttempts.push(url);
    const refuse = (status: number, text: string) =>
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    if (this.#options.refuseUpgrade) return refuse(this.#options.refuseUpgrade, 'Bad Request');
    if (!this.#authorized(req, url)) return refuse(401, 'Unauthorized');
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const after = url.searchParams.get('after');
      this.connections.push({ kind: 'websocket', url, authorization: req.headers.authorization, lastEventIdHeader: undefined, after: after === null ? null : Number(after) });
      const heartbeat = setInterval(() => ws.ping(), 10);
      this.#timers.add(heartbeat);
      const stop = this.#run(
        {
          send: (event) => ws.send(JSON.stringify(event)),
          close: () => ws.close(1000, 'execution finished'),
          drop: () => ws.terminate(),
          end: (code, reason) => ws.close(code, reason),
        },
        after === null ? null : Number(after),
      );
      ws.on('close', () => {
        clearInterval(heartbeat);
        stop();
      });
    });
  }
}

// ---- helpers ----------------------------------------------------------------------------------

const servers: StreamServer[] = [];
const bridges: ExecutionBridge[] = [];

afterEach(async () => {
  for (const bridge of bridges.splice(0)) bridge.disconnectAll();
  for (const server of servers.splice(0)) await server.close();
});

async function serve(options: StreamServerOptions = {}) {
  const server = await new StreamServer(options).start();
  servers.push(server);
  return server;
}

function bridgeFor(options: ExecutionBridgeOptions = {}) {
  const bridge = new ExecutionBridge({ token: TOKEN, reconnect: { initialMs: 20, maxMs: 100 }, ...options });
  bridges.push(bridge);
  return bridge;
}

/** Records what a bridge delivers for one execution, and resolves when it finished. */
function record(bridge: ExecutionBridge, executionId = EXEC) {
  const events: BridgeEvent[] = [];
  const states: ExecutionState[] = [];
  let resolveFinished!: (state: ExecutionState) => void;
  const finished = new Promise<ExecutionState>((resolve) => {
    resolveFinished = resolve;
  });
  bridge.on('*', (event) => events.push(event), executionId);
  bridge.subscribe(executionId, (state) => {
    states.push(state);
    if (state.finished) resolveFinished(state);
  });
  return { events, states, finished, ids: () => events.filter((e) => e.type !== 'state').map((e) => e.id) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function expectFinalState(state: ExecutionState) {
  expect(state.execution.status).toBe('completed');
  expect(state.execution.completedTasks).toBe(3);
  expect(state.execution.failedTasks).toBe(0);
  expect(state.execution.completedAt).toBeTruthy();
  expect(state.tasks.map((t) => [t.id, t.status])).toEqual([
    ['t1', 'completed'],
    ['t2', 'completed'],
    ['t3', 'completed'],
  ]);
  expect(state.tasks[0]).toMatchObject({ progress: 50, result: { sent: true }, agent_type: 'email' });
  expect(state.tasks[1]).toMatchObject({ retry_count: 1, error: 'SMTP timeout' });
  expect(state.health).toEqual({ score: 100, completionRate: 1, errorRate: 0, lastChecked: '2025-11-26T20:06:00Z', issues: [] });
  expect(state.metrics).toEqual({ totalDuration: 300000, averageTaskDuration: 15000 });
  expect(state.lastEventId).toBe(SCRIPT.length);
  expect(state.finished).toBe(true);
  expect(state.connected).toBe(false);
}

// ---- tests ------------------------------------------------------------------------------------

describe('ExecutionBridge over WebSocket', () => {
  it('receives the state and then every event in order, and ends with the right state', async () => {
    const server = await serve();
    const bridge = bridgeFor();
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    // Resolved on the first state: known at once, and handed to late subscribers immediately.
    const early = bridge.getState(EXEC)!;
    expect(early.connected).toBe(true);
    expect(early.transport).toBe('websocket');
    expect(early.execution.totalTasks).toBe(3);
    const late: ExecutionState[] = [];
    bridge.subscribe(EXEC, (state) => late.push(state));
    expect(late).toHaveLength(1);

    const final = await seen.finished;
    expect(seen.events[0]?.type).toBe('state');
    expect(seen.ids()).toEqual(range(1, SCRIPT.length));
    expect(seen.events.slice(1).map((e) => e.type)).toEqual(SCRIPT.map((s) => s.type));
    expectFinalState(final);
    expect(final.transport).toBe('websocket');
    // Listeners saw the intermediate states too: the retry put t2 back to pending, not failed.
    const afterRetry = seen.states.find((s) => s.lastEventId === 7)!;
    expect(afterRetry.tasks[1]).toMatchObject({ status: 'pending', retry_count: 1 });
    expect(afterRetry.execution.failedTasks).toBe(0);
    expect(seen.states.find((s) => s.lastEventId === 12)?.execution.status).toBe('paused');
    expect(seen.states.find((s) => s.lastEventId === 13)?.execution.status).toBe('running');

    // The Bearer header was sent (Node can), the token kept out of the URL; no reconnect after the end.
    await sleep(150);
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]).toMatchObject({ kind: 'websocket', authorization: `Bearer ${TOKEN}`, after: null });
    expect(server.connections[0]!.url.searchParams.has('access_token')).toBe(false);
  });

  it('calls on() handlers per type, per execution, until unsubscribed', async () => {
    const server = await serve();
    const bridge = bridgeFor();
    const completed: string[] = [];
    const failed: { error: string; willRetry: boolean }[] = [];
    const otherExecution: unknown[] = [];
    const once: number[] = [];
    let finished = 0;
    bridge.on('task-completed', (event) => completed.push(event.data.taskId), EXEC);
    bridge.on('task-failed', (event) => failed.push({ error: event.data.error, willRetry: event.data.willRetry }), EXEC);
    bridge.on('task-completed', (event) => otherExecution.push(event), 'exec_other');
    const off = bridge.on('task-assigned', (event) => {
      once.push(event.id);
      off();
    });
    const done = new Promise<void>((resolve) =>
      bridge.on('execution-completed', () => {
        finished++;
        resolve();
      }),
    );
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    await done;
    await sleep(50);
    expect(completed).toEqual(['t1', 't2', 't3']);
    expect(failed).toEqual([{ error: 'SMTP timeout', willRetry: true }]);
    expect(otherExecution).toEqual([]);
    expect(once).toEqual([2]);
    expect(finished).toBe(1);
  });

  it('reconnects after the server drops the stream and resumes from the last id: no gap, no duplicate', async () => {
    const server = await serve({ dropAfter: [4, 5], intervalMs: 8 });
    const bridge = bridgeFor();
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    const final = await seen.finished;
    expect(seen.ids()).toEqual(range(1, SCRIPT.length));
    expectFinalState(final);
    expect(server.connections.map((c) => c.kind)).toEqual(['websocket', 'websocket', 'websocket']);
    expect(server.connections.map((c) => c.after)).toEqual([null, 4, 9]);
    // Each stream begins with a state; the listeners were told of each drop.
    expect(seen.events.filter((e) => e.type === 'state')).toHaveLength(3);
    expect(seen.states.some((s) => !s.connected && !s.finished)).toBe(true);
    // Every intermediate state is consistent: a task is never counted twice.
    for (const state of seen.states) {
      expect(state.execution.completedTasks).toBe(state.tasks.filter((t) => t.status === 'completed').length);
    }
  });

  it('trades the token for a single-use ticket in access_token when the WebSocket class cannot send headers (browser), and sends it as a header with the ws package', async () => {
    const server = await serve();
    // A browser's WebSocket: takes a URL (and protocols), no headers.
    class BrowserWebSocket {
      constructor(url: string) {
        // biome-ignore lint/correctness/noConstructorReturn: a stand-in class whose instances are ws sockets
        return new WebSocketPackage(url);
      }
    }
    const browser = bridgeFor({ WebSocket: BrowserWebSocket as unknown as typeof WebSocket });
    const viaQuery = record(browser);
    await browser.connectWebSocket(EXEC, server.streamUrl());
    await viaQuery.finished;
    expect(server.connections[0]!.authorization).toBeUndefined();
    // The ticket, bought with the token in a header; the token itself is in no URL.
    expect(server.connections[0]!.url.searchParams.get('access_token')).toBe('stkt_1');
    expect(server.controls).toEqual([{ method: 'POST', path: `/api/executions/${EXEC}/stream-ticket`, authorization: `Bearer ${TOKEN}` }]);
    expect(server.upgradeAttempts.map((u) => u.searchParams.get('access_token'))).not.toContain(TOKEN);

    const server2 = await serve();
    const node = bridgeFor({ WebSocket: WebSocketPackage });
    const viaWs = record(node);
    await node.connectWebSocket(EXEC, server2.streamUrl());
    expectFinalState(await viaWs.finished);
    expect(server2.connections[0]).toMatchObject({ kind: 'websocket', authorization: `Bearer ${TOKEN}` });
    expect(server2.connections[0]!.url.searchParams.has('access_token')).toBe(false);
  });

  it('keeps reconnecting while an execution is cancelled but not yet settled (its final event still to come)', async () => {
    const script: Scripted[] = [
      { type: 'task-progress', data: { taskId: 't1', status: 'in_progress' } },
      { type: 'task-progress', data: { taskId: 't1', status: 'in_progress', progress: 90 } },
      { type: 'task-completed', data: { taskId: 't1' } },
      { type: 'execution-cancelled', data: { status: 'cancelled', completedTasks: 1, failedTasks: 0, skippedTasks: 2 } },
    ];
    // Cancelled in the database at once; settled (completedAt) only with the final event.
    const server = await serve({
      script,
      dropAfter: [1],
      intervalMs: 15,
      snapshot: (body, published) => (published.length < script.length ? { ...body, execution: { ...body.execution, status: 'cancelled', completedAt: null } } : body),
    });
    const bridge = bridgeFor();
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    expect(bridge.getState(EXEC)?.execution.status).toBe('cancelled');
    const final = await seen.finished;
    expect(seen.ids()).toEqual([1, 2, 3, 4]);
    expect(server.connections).toHaveLength(2);
    expect(final.execution).toMatchObject({ status: 'cancelled', completedTasks: 1, failedTasks: 0 });
    expect(final.tasks.map((t) => t.status)).toEqual(['completed', 'skipped', 'skipped']);
  });

  it('delivers a settled execution: state, its final event, no reconnect; after: 0 replays everything', async () => {
    const server = await serve({ settled: true });
    const bridge = bridgeFor();
    const seen = record(bridge);
    const completed: number[] = [];
    bridge.on('execution-completed', (event) => completed.push(event.id));
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    const final = await seen.finished;
    expect(completed).toEqual([SCRIPT.length]);
    expectFinalState(final);

    const replay = bridgeFor();
    const all = record(replay);
    await replay.connectWebSocket(EXEC, server.streamUrl(), { after: 0 });
    expectFinalState(await all.finished);
    expect(all.ids()).toEqual(range(1, SCRIPT.length));
    await sleep(100);
    expect(server.connections.map((c) => c.after)).toEqual([null, 0]);
  });
});

describe('ExecutionBridge over Server-Sent Events', () => {
  it('falls back to SSE at the same path when the server refuses the WebSocket upgrade', async () => {
    const server = await serve({ refuseUpgrade: 400 });
    const bridge = bridgeFor();
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl('ws'));
    expect(bridge.getState(EXEC)?.transport).toBe('sse');
    const final = await seen.finished;
    expect(seen.ids()).toEqual(range(1, SCRIPT.length));
    expectFinalState(final);
    expect(final.transport).toBe('sse');
    expect(server.upgradeAttempts).toHaveLength(1);
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]).toMatchObject({ kind: 'sse', authorization: `Bearer ${TOKEN}`, after: null });
  });

  it('reconnects over SSE with Last-Event-ID and ?lastEventId, without trying the WebSocket again', async () => {
    const server = await serve({ refuseUpgrade: 404, dropAfter: [3, undefined], intervalMs: 8 });
    const bridge = bridgeFor();
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl('ws'));
    const final = await seen.finished;
    expect(seen.ids()).toEqual(range(1, SCRIPT.length));
    expectFinalState(final);
    expect(server.upgradeAttempts).toHaveLength(1);
    expect(server.connections.map((c) => c.kind)).toEqual(['sse', 'sse']);
    expect(server.connections[1]!.lastEventIdHeader).toBe('3');
    expect(server.connections[1]!.url.searchParams.get('lastEventId')).toBe('3');
  });

  it("uses only SSE with transport: 'sse'", async () => {
    const server = await serve({ dropAfter: [2] });
    const bridge = bridgeFor({ transport: 'sse' });
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl('http'));
    expectFinalState(await seen.finished);
    expect(seen.ids()).toEqual(range(1, SCRIPT.length));
    expect(server.upgradeAttempts).toHaveLength(0);
    expect(server.connections.map((c) => [c.kind, c.after])).toEqual([
      ['sse', null],
      ['sse', 2],
    ]);
  });

  it('rejects the connect when neither transport is allowed in, and does not retry', async () => {
    const server = await serve();
    const bridge = bridgeFor({ token: 'wrong' });
    const error = await bridge.connectWebSocket(EXEC, server.streamUrl()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BridgeConnectionError);
    expect((error as BridgeConnectionError).status).toBe(401);
    expect(bridge.getState(EXEC)).toBeUndefined();
    // (Node's built-in WebSocket itself repeats an upgrade answered 401 once.)
    const attempts = server.upgradeAttempts.length;
    expect(attempts).toBeGreaterThanOrEqual(1);
    await sleep(150);
    expect(server.upgradeAttempts).toHaveLength(attempts);
    expect(server.connections).toHaveLength(0);
  });
});

describe('streams the server ends because their credential or access ended', () => {
  for (const transport of ['websocket', 'sse'] as const) {
    it(`stops (${transport}) without reconnecting, and says why`, async () => {
      const server = await serve({ endAfter: { events: 2, code: 4401, reason: 'API token revoked' } });
      const bridge = bridgeFor({ transport });
      const states: ExecutionState[] = [];
      bridge.subscribe(EXEC, (state) => states.push(state));
      await bridge.connectWebSocket(EXEC, server.streamUrl());
      await expect.poll(() => states.at(-1)?.connectionError).toMatch(/API token revoked/);
      expect(states.at(-1)).toMatchObject({ connected: false, finished: false });
      await sleep(150);
      // One stream, no reconnect: coming back would only be refused.
      expect(server.connections).toHaveLength(1);
    });
  }
});

describe('ExecutionBridge control and lifecycle', () => {
  it('POSTs pause, resume and cancel with the Bearer token to the paths beside the stream', async () => {
    const server = await serve();
    const bridge = bridgeFor();
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    expect(await bridge.pauseExecution(EXEC)).toEqual({ success: true, message: 'Execution paused', execution: { id: EXEC, status: 'paused' } });
    expect((await bridge.resumeExecution(EXEC)).execution.status).toBe('running');
    expect((await bridge.cancelExecution(EXEC)).execution.status).toBe('cancelled');
    expect(server.controls).toEqual(
      // An empty JSON body (the seed allows it): a body-less POST trips SvelteKit's CSRF check.
      ['pause', 'resume', 'cancel'].map((action) => ({ method: 'POST', path: `/api/executions/${EXEC}/${action}`, authorization: `Bearer ${TOKEN}`, contentType: 'application/json' })),
    );
  });

  it("throws the server's error", async () => {
    const server = await serve({
      control: {
        resume: { status: 409, body: { error: 'Cannot resume a completed execution' } },
        cancel: { status: 403, body: { error: 'Access denied' } },
      },
    });
    const bridge = bridgeFor({ baseUrl: `http://${server.url}` });
    // Not connected: the control calls go to baseUrl.
    const resumed = await bridge.resumeExecution(EXEC).catch((e: unknown) => e);
    expect(resumed).toBeInstanceOf(Error);
    expect(resumed).toBeInstanceOf(StrataApiError);
    expect(resumed).toMatchObject({ message: 'Cannot resume a completed execution', status: 409 });
    await expect(bridge.cancelExecution(EXEC)).rejects.toThrow('Access denied');
    expect(server.controls.map((c) => c.path)).toEqual([`/api/executions/${EXEC}/resume`, `/api/executions/${EXEC}/cancel`]);
    await expect(bridgeFor().pauseExecution('exec_nowhere')).rejects.toThrow(/no baseUrl/);
  });

  it('disconnect stops reconnecting', async () => {
    const server = await serve({ dropAfter: [2], intervalMs: 10 });
    const bridge = bridgeFor({ reconnect: { initialMs: 80, maxMs: 80 } });
    const seen = record(bridge);
    let dropped!: () => void;
    const drop = new Promise<void>((resolve) => {
      dropped = resolve;
    });
    bridge.subscribe(EXEC, (state) => {
      if (!state.connected) dropped();
    });
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    await drop;
    bridge.disconnect(EXEC);
    expect(bridge.getState(EXEC)).toBeUndefined();
    await sleep(250);
    expect(server.connections).toHaveLength(1);
    expect(seen.ids()).toEqual([1, 2]);
  });

  it('disconnect during connect rejects that connect, and one after the end is harmless', async () => {
    const server = await serve();
    const bridge = bridgeFor();
    const pending = bridge.connectWebSocket(EXEC, server.streamUrl());
    bridge.disconnect(EXEC);
    await expect(pending).rejects.toThrow(/disconnected/);
    await sleep(100);
    expect(server.connections).toHaveLength(0);

    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    // Connecting again to the same URL while connected is the same connection.
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    await seen.finished;
    bridge.disconnect(EXEC);
    bridge.disconnect(EXEC);
    expect(server.connections).toHaveLength(1);
  });

  it('gives up after maxAttempts when the server is gone', async () => {
    const server = await serve({ dropAfter: [1] });
    const bridge = bridgeFor({ reconnect: { initialMs: 10, maxMs: 20, maxAttempts: 2 } });
    const seen = record(bridge);
    await bridge.connectWebSocket(EXEC, server.streamUrl());
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await sleep(300);
    const last = seen.states.at(-1)!;
    expect(last.connected).toBe(false);
    expect(last.finished).toBe(false);
    expect(last.connectionError).toMatch(/gave up reconnecting/);
  });
});

describe('ExecutionBridge options', () => {
  it("accept the platform's, the ws package's and the eventsource package's classes", async () => {
    const { EventSource: EventSourcePackage } = await import('eventsource');
    const options: ExecutionBridgeOptions[] = [
      { WebSocket: WebSocketPackage, EventSource: EventSourcePackage },
      ...(globalThis.WebSocket ? [{ WebSocket: globalThis.WebSocket }] : []),
      ...(globalThis.EventSource ? [{ EventSource: globalThis.EventSource }] : []),
    ];
    for (const option of options) expect(new ExecutionBridge(option)).toBeInstanceOf(ExecutionBridge);
  });
});
