/**
 * Event delivery through one web process to many subscribers following one execution of 500
 * quick tasks: latency from the event row's creation to its arrival at each client (p50/p99)
 * and the web process's peak memory. Writes bench/results/stream.json.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { createDatabase } from '@strata/db';
import { PgBoss } from 'pg-boss';
import WebSocket from 'ws';
import { benchDatabase, startAnalysisWorker, machine, percentile, round, startBenchWeb, writeResult } from './support.ts';

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
    return { subscribers, received_by: complete, events_delivered: latencies.length, p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), rss_mb: peakRssMb(web.pid) };
  } finally {
    agent.destroy();
    await web.stop();
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    await database.close();
    await db.drop();
  }
}

export async function run(): Promise<void> {
  const only = process.env.STREAM_BENCH_ONLY;
  const sse = only && only !== 'sse' ? undefined : await scenario('sse', 'sse', 1000);
  const ws = only && only !== 'ws' ? undefined : await scenario('ws', 'ws', 1000);
  const sse5000 = only ? undefined : await scenario('sse_5000', 'sse', 5000);
  writeResult('stream', { sse, ws, sse_5000: sse5000, settings: { tasks: TASKS }, machine: machine() });
}
