/**
 * Event delivery through one web process to many subscribers following one execution of 500
 * quick tasks: latency from the event row's creation to its arrival at each client (p50/p99)
 * and the web process's peak memory, for 1,000 SSE, 1,000 WebSocket, 5,000 SSE and 5,000
 * WebSocket subscribers. Writes bench/results/stream.json. `STREAM_BENCH_ONLY=ws_5000` (a comma
 * list of sse, ws, sse_5000, ws_5000) runs only those scenarios.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { createDatabase } from '@strata/db';
import { PgBoss } from 'pg-boss';
import WebSocket from 'ws';
import { benchDatabase, startAnalysisWorker, percentile, round, startBenchWeb, writeResult } from './support.ts';

const TASKS = 500;

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return round(kb / 1024, 1);
}

interface Client {
  latencies: number[];
  done: Promise<void>;
  ready: Promise<void>;
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

function sseClient(url: string, token: string): Client {
  const latencies: number[] = [];
  let ready!: () => void;
  let done!: () => void;
  const client: Client = { latencies, ready: new Promise((r) => (ready = r)), done: new Promise((r) => (done = r)) };
  const req = httpRequest(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const now = Date.now();
      buffer += chunk;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const line = frame.split('\n').find((l) => l.startsWith('data: '));
        if (line) {
          const event = JSON.parse(line.slice(6)) as { type: string; timestamp: string };
          if (event.type === 'state') ready();
          else latencies.push(now - Date.parse(event.timestamp));
        }
        end = buffer.indexOf('\n\n');
      }
    });
    res.on('end', () => done());
    res.on('error', () => done());
  });
  req.on('error', () => {
    ready();
    done();
  });
  req.end();
  return client;
}

function wsClient(url: string, token: string): Client {
  const latencies: number[] = [];
  let ready!: () => void;
  let done!: () => void;
  const client: Client = { latencies, ready: new Promise((r) => (ready = r)), done: new Promise((r) => (done = r)) };
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  socket.on('message', (data) => {
    const now = Date.now();
    const event = JSON.parse(String(data)) as { type: string; timestamp: string };
    if (event.type === 'state') ready();
    else latencies.push(now - Date.parse(event.timestamp));
  });
  socket.on('close', () => done());
  socket.on('error', () => {
    ready();
    done();
  });
  return client;
}

async function scenario(name: string, transport: 'sse' | 'ws', subscribers: number) {
  const db = await benchDatabase();
  const web = await startBenchWeb(db.url);
  const base = web.base;
  const boss = new PgBoss({ connectionString: db.url, useListenNotify: true, schedule: false });
  boss.on('error', () => {});
  const database = createDatabase(db.url);
  try {
    const post = web.post;
    const { token, workspaceId } = await web.account();
    const workspace = { id: workspaceId };
    const items = Array.from({ length: TASKS }, (_, i) => ({ key: `t${i}`, description: `Task ${i}`, agentType: 'analysis', input: { fields: ['n'] } }));
    const { strategy } = await post('/api/strategies', { workspaceId: workspace.id, name: 'bench', items }, token);
    // Started with no worker running: subscribers connect, then the worker begins.
    const { executionId } = await post('/api/executions/start', { strategyId: strategy.id, workspaceId: workspace.id }, token);
    const url = `${base}/api/executions/${executionId}/stream`;
    const clients: Client[] = [];
    for (let i = 0; i < subscribers; i++) {
      clients.push(transport === 'sse' ? sseClient(url, token) : wsClient(url.replace('http', 'ws'), token));
      if (i % 100 === 99) await Promise.all(clients.slice(-100).map((c) => c.ready));
    }
    await Promise.all(clients.map((c) => c.ready));
    console.log(`  ${name}: ${subscribers} ${transport} subscribers connected; running ${TASKS} tasks`);
    await boss.start();
    const worker = await startAnalysisWorker(boss, database.db, null);
    await Promise.race([Promise.all(clients.map((c) => c.done)), new Promise((r) => setTimeout(r, 120_000))]);
    await worker.stop();
    const latencies = clients.flatMap((c) => c.latencies).sort((a, b) => a - b);
    const complete = clients.filter((c) => c.latencies.length > 0).length;
    // Every subscriber should get every event: the fewest and most any one of them received.
    const perSubscriber = clients.map((c) => c.latencies.length);
    return {
      subscribers,
      received_by: complete,
      events_delivered: latencies.length,
      events_per_subscriber_min: Math.min(...perSubscriber),
      events_per_subscriber_max: Math.max(...perSubscriber),
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      rss_mb: peakRssMb(web.pid),
    };
  } finally {
    agent.destroy();
    await web.stop();
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    await database.close();
    await db.drop();
  }
}

/** The soft limit on open files of this process (the web process it spawns inherits it). */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}

const SCENARIOS = [
  { name: 'sse', transport: 'sse', subscribers: 1000 },
  { name: 'ws', transport: 'ws', subscribers: 1000 },
  { name: 'sse_5000', transport: 'sse', subscribers: 5000 },
  { name: 'ws_5000', transport: 'ws', subscribers: 5000 },
] as const;

export async function run(): Promise<void> {
  const only = process.env.STREAM_BENCH_ONLY?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`STREAM_BENCH_ONLY: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const wanted = SCENARIOS.filter((s) => !only || only.includes(s.name));
  // Each subscriber is one socket in this process and one in the web process, which inherits
  // this limit; Node cannot raise its own, so say how before connecting rather than fail midway.
  const needed = Math.max(...wanted.map((s) => s.subscribers)) + 512;
  const limit = openFilesLimit();
  if (limit < needed) throw new Error(`stream bench: ${needed} open files needed per process, the limit is ${limit}: raise it first (ulimit -n ${needed}; pnpm bench stream)`);
  const results: Record<string, Awaited<ReturnType<typeof scenario>> | undefined> = {};
  for (const s of SCENARIOS) results[s.name] = wanted.includes(s) ? await scenario(s.name, s.transport, s.subscribers) : undefined;
  writeResult('stream', { ...results, settings: { tasks: TASKS, open_files_limit: Number.isFinite(limit) ? limit : 'unlimited' } });
}
