import { EventHub, openStream, type StreamSink } from '@strata/api';
import { type ApiHarness, createApiHarness } from '@strata/api/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyStreamEvent, type BridgeEvent, createInitialState, type ExecutionState } from './bridge-state.ts';

/**
 * Issue 10, item 4: a live view built from the real stream by the bridge's reducer shows what
 * the status endpoint shows, also while an execution winds down: tasks skipped by a cancel,
 * by the failure policy, or handed back by a paused claim each have an event saying so.
 */
let h: ApiHarness;
let hub: EventHub;
let token: string;
let workspaceId: string;
let worker: Awaited<ReturnType<ApiHarness['startWorker']>> | undefined;
/** Claimed tasks of agent type `content` wait here until the test lets them finish. */
const running = new Map<string, { started: PromiseWithResolvers<void>; finish: PromiseWithResolvers<void> }>();
const gate = (key: string) => {
  let g = running.get(key);
  if (!g) {
    g = { started: Promise.withResolvers(), finish: Promise.withResolvers() };
    running.set(key, g);
  }
  return g;
};

beforeAll(async () => {
  h = await createApiHarness();
  h.registry.register('content', async ({ task }) => {
    if (task.input.fail) throw new Error(`boom in ${task.key}`);
    const g = gate(task.key);
    g.started.resolve();
    await g.finish.promise;
    return { ok: task.key };
  });
  hub = new EventHub({ db: h.database.db, listenSql: h.database.sql });
  await hub.start();
  ({ token } = await h.signup('live@example.com'));
  workspaceId = await h.createWorkspace(token);
});
afterEach(async () => {
  for (const g of running.values()) g.finish.resolve();
  running.clear();
  await worker?.stop();
  worker = undefined;
});
afterAll(async () => {
  await hub?.stop();
  await h?.close();
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'content', ...extra });

async function start(items: ReturnType<typeof item>[], extra: Record<string, unknown> = {}): Promise<string> {
  const strategy = await h.call('POST', '/api/strategies', { token, body: { workspaceId, name: 'live', items, ...extra } });
  expect(strategy.status).toBe(201);
  const started = await h.call('POST', '/api/executions/start', { token, body: { workspaceId, strategyId: strategy.body.strategy.id } });
  expect(started.status).toBe(200);
  return started.body.executionId as string;
}

const control = async (executionId: string, action: 'pause' | 'resume' | 'cancel') =>
  expect((await h.call('POST', `/api/executions/${executionId}/${action}`, { token })).status).toBe(200);

/** The bridge's live state, fed by the real stream (state first, then every event, or every one after `after`). */
async function follow(executionId: string, after: number | null = null) {
  let state: ExecutionState = createInitialState(executionId);
  const waiting: { id: number; resolve: () => void }[] = [];
  const sink: StreamSink = {
    transport: 'sse',
    send(events) {
      for (const event of events) {
        const message = JSON.parse(event.json) as BridgeEvent;
        state = { ...applyStreamEvent(state, message), lastEventId: message.id };
      }
      for (const w of waiting.splice(0)) {
        if (state.lastEventId >= w.id) w.resolve();
        else waiting.push(w);
      }
      return true;
    },
    close() {},
  };
  const stop = await openStream({ db: h.database.db, hub }, executionId, after, ['detail', 'results'], sink);
  return {
    stop,
    /** Resolves with the live state once it has taken in every event logged so far. */
    async caughtUp(): Promise<ExecutionState> {
      const id = Number((await h.events(executionId)).at(-1)?.id ?? 0);
      if (state.lastEventId < id) await new Promise<void>((resolve) => waiting.push({ id, resolve }));
      return state;
    },
  };
}

/** What a view shows: each task's status, the execution's status and counts. */
const view = (body: { execution: { status: string; completedTasks: number; failedTasks: number }; tasks: { id: string; status: string }[] }) => ({
  status: body.execution.status,
  completedTasks: body.execution.completedTasks,
  failedTasks: body.execution.failedTasks,
  tasks: Object.fromEntries(body.tasks.map((t) => [t.id, t.status])),
});

async function statusView(executionId: string) {
  const res = await h.call('GET', `/api/executions/${executionId}/status`, { token });
  expect(res.status).toBe(200);
  return view(res.body);
}

/** The live tasks equal the stored ones (the execution's own status waits for its final event). */
async function expectLiveTasksMatch(executionId: string, live: Awaited<ReturnType<typeof follow>>) {
  const stored = await statusView(executionId);
  expect(view(await live.caughtUp()).tasks).toEqual(stored.tasks);
  return stored;
}

describe('the live view of an execution equals its status', () => {
  it('after a cancel with queued tasks, while a task still runs, and at the end', async () => {
    const executionId = await start([item('first', { priority: 'high' }), item('second'), item('third', { dependsOn: ['second'] })]);
    const live = await follow(executionId);
    // One slot: `first` runs and holds it, `second` stays queued, `third` pending.
    worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    await gate('first').started.promise;
    await control(executionId, 'cancel');
    const during = await expectLiveTasksMatch(executionId, live);
    expect(Object.values(during.tasks).sort()).toEqual(['in_progress', 'skipped', 'skipped']);
    gate('first').finish.resolve();
    await h.waitForStatus(executionId, ['cancelled']);
    const end = await statusView(executionId);
    expect(view(await live.caughtUp())).toEqual(end);
    live.stop();
  });

  it('with onTaskFailure "continue", while another task runs: the failed task\'s dependents show as skipped', async () => {
    const executionId = await start([item('holder'), item('bad', { input: { fail: true }, maxRetries: 0 }), item('child', { dependsOn: ['bad'] })], { onTaskFailure: 'continue' });
    const live = await follow(executionId);
    worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 2 } });
    await gate('holder').started.promise;
    await h.waitForStatus(executionId, ['running']);
    // Wait until bad's failure is recorded (its dependents are skipped in the same transaction).
    for (let i = 0; i < 600 && !(await h.events(executionId)).some((e) => e.type === 'task-failed'); i++) await new Promise((r) => setTimeout(r, 25));
    const during = await expectLiveTasksMatch(executionId, live);
    expect(Object.values(during.tasks).sort()).toEqual(['failed', 'in_progress', 'skipped']);
    gate('holder').finish.resolve();
    await h.waitForStatus(executionId, ['completed']);
    expect(view(await live.caughtUp())).toEqual(await statusView(executionId));
    live.stop();
  });

  it('of a re-run, its carried-over tasks marked reused and counted once, followed from the start or from its log\'s beginning', async () => {
    const original = await start([item('done-before'), item('bad', { input: { fail: true }, maxRetries: 0, dependsOn: ['done-before'] }), item('after-bad', { dependsOn: ['bad'] })]);
    worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 2 } });
    gate('done-before').finish.resolve();
    await h.waitForStatus(original, ['failed']);
    running.delete('done-before');
    // The re-run carries `done-before` over; `bad` fails again.
    const res = await h.call('POST', `/api/executions/${original}/retry`, { token });
    expect(res.status).toBe(201);
    const retryId = res.body.executionId as string;
    const fromState = await follow(retryId);
    const fromLog = await follow(retryId, 0);
    await h.waitForStatus(retryId, ['failed']);
    const end = await statusView(retryId);
    expect(end).toMatchObject({ status: 'failed', completedTasks: 1, failedTasks: 1 });
    for (const live of [fromState, fromLog]) {
      const state = await live.caughtUp();
      expect(view(state)).toEqual(end);
      expect(state.execution.retryOf).toBe(original);
      expect(state.tasks.filter((t) => t.reused).map((t) => t.key)).toEqual(['done-before']);
      live.stop();
    }
    // No agent ran for it in the re-run (it would have taken a new gate).
    expect(running.has('done-before')).toBe(false);
  });

  it('after a job fires while paused and hands its task back', async () => {
    const executionId = await start([item('only')]);
    const live = await follow(executionId);
    await control(executionId, 'pause');
    worker = await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 1 } });
    for (let i = 0; i < 600 && !(await h.events(executionId)).some((e) => e.data.status === 'pending'); i++) await new Promise((r) => setTimeout(r, 25));
    const during = await expectLiveTasksMatch(executionId, live);
    expect(Object.values(during.tasks)).toEqual(['pending']);
    expect(view(await live.caughtUp()).status).toBe('paused');
    await control(executionId, 'resume');
    await gate('only').started.promise;
    gate('only').finish.resolve();
    await h.waitForStatus(executionId, ['completed']);
    expect(view(await live.caughtUp())).toEqual(await statusView(executionId));
    live.stop();
  });
});
