import { createStrataClient } from '@strata/client';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * `executions.watch`, the executions list's live source: it says which executions of a
 * workspace changed, with the execution stream's checks and limits.
 */
let h: EngineHarness;
let web: RunningWeb;
let owner: string;
let workspaceId: string;
let strategyId: string;

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
async function call(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${web.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

type WatchError = { message: string; data?: { code?: string } };

/** Opens a watch; collects its messages until it errors or is closed. */
function watch(token: string | undefined, wsId: string) {
  const client = createStrataClient({ baseUrl: web.url, ...(token ? { token } : {}), EventSource: EventSource as unknown as typeof globalThis.EventSource });
  const messages: { executionIds: string[]; resync: boolean }[] = [];
  let notify: (() => void) | undefined;
  const failed = Promise.withResolvers<WatchError>();
  const subscription = client.executions.watch.subscribe(
    { workspaceId: wsId },
    {
      onData: (message) => {
        messages.push(message);
        notify?.();
      },
      onError: (error) => {
        subscription.unsubscribe();
        failed.resolve(error as unknown as WatchError);
      },
    },
  );
  /** Resolves once a message satisfies `test`. */
  const until = (test: (m: { executionIds: string[]; resync: boolean }) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (messages.some(test)) resolve();
      };
      notify = check;
      check();
    });
  return { messages, until, error: failed.promise, close: () => subscription.unsubscribe() };
}

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('content', () => ({ text: 'done' }));
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url, STREAM_MAX_PER_CREDENTIAL: '2' });
  owner = (await call('POST', '/api/auth/signup', null, { email: 'watcher@example.com', password: 'a watching password' })).body.token;
  workspaceId = (await call('POST', '/api/workspaces', owner, { name: 'Watched' })).body.workspace.id;
  strategyId = (await call('POST', '/api/strategies', owner, { workspaceId, name: 'Watched runs', items: [{ key: 'a', description: 'A', agentType: 'content', input: { prompt: 'Write' } }] })).body.strategy.id;
});
afterAll(async () => {
  await web?.stop();
  await h?.close();
});

describe('executions.watch', () => {
  it('says resync on connect, then names an execution when it starts and when it ends', async () => {
    const w = watch(owner, workspaceId);
    await w.until((m) => m.resync);
    const started = await call('POST', '/api/executions/start', owner, { strategyId, workspaceId });
    const id = started.body.executionId as string;
    await h.waitForStatus(id, ['completed']);
    await w.until((m) => m.executionIds.includes(id));
    // Completion comes after the start: the id is named again (or in the same batch) until the final event.
    const events = await h.events(id);
    expect(events.at(-1)?.type).toBe('execution-completed');
    w.close();
  });

  it('refuses no credentials (UNAUTHORIZED) and someone outside the workspace (FORBIDDEN)', async () => {
    expect((await watch(undefined, workspaceId).error).data?.code).toBe('UNAUTHORIZED');
    const outsider = (await call('POST', '/api/auth/signup', null, { email: 'outsider@example.com', password: 'an outsider password' })).body.token;
    expect((await watch(outsider, workspaceId).error)).toMatchObject({ message: 'Access denied', data: { code: 'FORBIDDEN' } });
  });

  it('counts against the credential’s cap on open streams, and ends when its token is revoked', async () => {
    const created = (await call('POST', '/api/tokens', owner, { name: 'watch', workspaceId })).body;
    const first = watch(created.token, workspaceId);
    const second = watch(created.token, workspaceId);
    await first.until((m) => m.resync);
    await second.until((m) => m.resync);
    expect(await watch(created.token, workspaceId).error).toMatchObject({ message: 'Too many open streams for this credential', data: { code: 'TOO_MANY_REQUESTS' } });
    second.close();
    await call('DELETE', `/api/tokens/${created.id}`, owner);
    expect(await first.error).toMatchObject({ message: 'API token revoked', data: { code: 'UNAUTHORIZED' } });
  });
});
