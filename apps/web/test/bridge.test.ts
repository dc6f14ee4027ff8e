import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionBridge } from '@strata/client';
import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from './server.ts';

let h: EngineHarness;
let web: RunningWeb;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('coordination', async ({ task }) => {
    await new Promise((r) => setTimeout(r, 30));
    return { key: task.key };
  });
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url });
  const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bridge@example.com', password: 'bridging the gap' }) });
  token = (await signup.json()).token;
  const ws = await fetch(`${web.url}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'Bridge' }) });
  workspaceId = (await ws.json()).workspace.id;
});
afterAll(async () => {
  await web?.stop();
  await h?.close();
});

async function run(items: number) {
  const strategy = await fetch(`${web.url}/api/strategies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ workspaceId, name: 'b', items: Array.from({ length: items }, (_, i) => ({ key: `k${i}`, description: `K${i}`, agentType: 'coordination', dependsOn: i ? [`k${i - 1}`] : [] })) }),
  });
  return startExecution(h.ctx, { strategyId: (await strategy.json()).strategy.id, workspaceId });
}

async function finalStateMatchesStatus(bridge: ExecutionBridge, executionId: string, base: string) {
  await new Promise<void>((resolve) => {
    const off = bridge.subscribe(executionId, (state) => {
      if (state.execution.status !== 'completed' || !state.finished) return;
      queueMicrotask(() => off());
      resolve();
    });
  });
  const status = await (await fetch(`${web.url}/api/executions/${executionId}/status`, { headers: { authorization: `Bearer ${token}` } })).json();
  const state = bridge.getState(executionId)!;
  expect(state.execution.status).toBe(status.execution.status);
  expect(state.execution.completedTasks).toBe(status.execution.completedTasks);
  expect(state.execution.failedTasks).toBe(status.execution.failedTasks);
  expect(state.tasks.map((t) => [t.id, t.status]).sort()).toEqual(status.tasks.map((t: { id: string; status: string }) => [t.id, t.status]).sort());
  expect(state.health.score).toBe(status.health.score);
  expect(base).toBeTruthy();
}

describe('executionBridge against the real server', () => {
  it('follows an execution over WebSocket and ends equal to the status endpoint', async () => {
    const execution = await run(4);
    const bridge = new ExecutionBridge({ token });
    const seen: string[] = [];
    bridge.on('task-completed', (event) => seen.push(String((event.data as { taskId: string }).taskId)), execution.id);
    await bridge.connectWebSocket(execution.id, `${web.url.replace('http', 'ws')}/api/executions/${execution.id}/stream`, { after: 0 });
    expect(bridge.getState(execution.id)?.transport).toBe('websocket');
    await finalStateMatchesStatus(bridge, execution.id, web.url);
    expect(new Set(seen).size).toBe(4);
    bridge.disconnectAll();
  });

  it('follows an execution with a stream ticket in the URL instead of the header (as a browser with a token does)', async () => {
    const execution = await run(3);
    const bridge = new ExecutionBridge({ token, tokenInQuery: true });
    await bridge.connectWebSocket(execution.id, `${web.url.replace('http', 'ws')}/api/executions/${execution.id}/stream`, { after: 0 });
    expect(bridge.getState(execution.id)?.transport).toBe('websocket');
    await finalStateMatchesStatus(bridge, execution.id, web.url);
    bridge.disconnectAll();
  });

  it('falls back to SSE when the WebSocket upgrade is refused, and still gets everything', async () => {
    // A proxy that forwards HTTP but refuses every upgrade.
    const target = new URL(web.url);
    const proxy: Server = createServer((req, res) => {
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const base = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const execution = await run(3);
      const bridge = new ExecutionBridge({ token });
      await bridge.connectWebSocket(execution.id, `ws://${base}/api/executions/${execution.id}/stream`, { after: 0 });
      expect(bridge.getState(execution.id)?.transport).toBe('sse');
      await finalStateMatchesStatus(bridge, execution.id, base);
      bridge.disconnectAll();
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});
