import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allowListSet } from '@strata/net';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { controlExecution, startExecution } from '../lifecycle.ts';
import { blockAt } from '../hooks.ts';
import { createEngineHarness, type EngineHarness, silentLogger, until } from '../testing.ts';
import { transaction } from '../tx.ts';
import { answerApproval } from '../waits/approvals.ts';
import { attemptDelivery, startWebhookDeliveryWorker, type WebhookDeliveryWorker } from './deliver.ts';
import { pruneWebhookDeliveries } from './retention.ts';
import { testWebhookRetry } from './schedule.ts';
import { verifyWebhookSignature } from './signature.ts';
import { createWebhook, deleteWebhook, listWebhookDeliveries, listWebhooks, sendTestDelivery } from './store.ts';
import { queueHealthBelow } from './trigger.ts';

/** A local endpoint: records each request and answers with the next scripted status (200 when none is left). */
interface Receiver {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders; body: string }[];
  script: number[];
  server: Server;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', requests: [], script: [], server: createServer() };
  receiver.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = receiver.script.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
  return receiver;
}

const ALLOW_LOCAL = allowListSet(['127.0.0.1']);
let h: EngineHarness;
let receiver: Receiver;
let deliveries: WebhookDeliveryWorker;

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('coordination', ({ task }) => {
    if (task.input.fail) throw new Error(`task ${task.key} failed on purpose`);
    return { key: task.key };
  });
  h.registry.register('approval', async ({ waitForApproval }) => {
    const decision = await waitForApproval({ prompt: 'Send the newsletter?' });
    return { approved: decision.approved };
  });
  await h.startWorker();
  receiver = await startReceiver();
  deliveries = await startWebhookDeliveryWorker({ boss: h.boss, ctx: h.ctx, logger: silentLogger, allowHosts: ALLOW_LOCAL, timeoutMs: 5000, retry: testWebhookRetry(50), pollSeconds: 0.5 });
});
afterAll(async () => {
  await deliveries?.stop();
  await new Promise((r) => receiver?.server.close(r));
  await h?.close();
});
afterEach(() => {
  receiver.requests.length = 0;
  receiver.script.length = 0;
});

const item = (key: string, extra: Record<string, unknown> = {}) => ({ key, description: key, agentType: 'coordination', maxRetries: 0, ...extra });

async function deliveryRows(webhookId: string) {
  return (await listWebhookDeliveries(h.database.db, webhookId, { limit: 200 })).deliveries;
}

/** Waits until every delivery of the webhook is over and there are `count` of them. */
async function settledDeliveries(webhookId: string, count: number) {
  return until(`${count} settled deliveries of ${webhookId}`, async () => {
    const rows = await deliveryRows(webhookId);
    return rows.length === count && rows.every((d) => d.status !== 'pending') ? rows : undefined;
  });
}

const bodies = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('webhook deliveries', () => {
  it('sends execution.completed, signed so the verifier accepts it, and records the 2xx', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/done`, events: ['execution.completed'] }, ALLOW_LOCAL);
    expect(hook.secret).toMatch(/^whsec_[a-z0-9]{32}$/);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [item('a'), item('b', { dependsOn: ['a'] })]), workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery).toMatchObject({ type: 'execution.completed', status: 'succeeded', attempts: 1, lastStatusCode: 200, lastError: null, executionId: execution.id });
    const [request] = receiver.requests;
    expect(request?.headers['content-type']).toBe('application/json');
    const header = request!.headers['strata-signature'] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(hook.secret, header, request!.body)).toBe(true);
    expect(verifyWebhookSignature('whsec_other', header, request!.body)).toBe(false);
    expect(verifyWebhookSignature(hook.secret, header, request!.body.replace('completed', 'failed'))).toBe(false);
    const body = JSON.parse(request!.body);
    expect(Object.keys(body)).toEqual(['id', 'type', 'createdAt', 'workspaceId', 'data']);
    expect(body).toMatchObject({ id: delivery!.id, type: 'execution.completed', workspaceId: ws });
    expect(body.data.execution).toMatchObject({ id: execution.id, status: 'completed', totalTasks: 2, completedTasks: 2, failedTasks: 0, strategyName: 'Test strategy' });
    expect(body.data.execution.completedAt).toMatch(/Z$/);
    expect(body.data.health).toEqual({ score: 100, issues: [] });
  });

  it('retries after a 500 with the same body and id, and succeeds on the 200', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/retry`, events: ['execution.failed', 'execution.completed'] }, ALLOW_LOCAL);
    receiver.script.push(500);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [item('bad', { input: { fail: true } })]), workspaceId: ws });
    await h.waitForStatus(execution.id, ['failed']);
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery).toMatchObject({ type: 'execution.failed', status: 'succeeded', attempts: 2, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    const sent = receiver.requests.filter((r) => r.path === '/retry');
    expect(sent).toHaveLength(2);
    expect(sent[1]!.body).toBe(sent[0]!.body);
    for (const r of sent) expect(verifyWebhookSignature(hook.secret, r.headers['strata-signature'] as string, r.body)).toBe(true);
    expect(JSON.parse(sent[0]!.body).data.execution).toMatchObject({ status: 'failed', failedTasks: 1 });
    expect(JSON.parse(sent[0]!.body).data.execution.error).toContain('failed on purpose');
  });

  it('records each failed attempt and fails the delivery when its 24 h are over', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/late`, events: ['execution.completed'] }, ALLOW_LOCAL);
    // Hold the first attempt until the delivery looks a day old: its failure is then the last.
    const held = blockAt('webhooks:before-attempt', { match: (info) => typeof info.deliveryId === 'string' });
    receiver.script.push(503);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, []), workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    await held.reached;
    await h.database.db.execute(sql`update webhook_deliveries set created_at = now() - interval '25 hours' where webhook_id = ${hook.id}`);
    held.remove();
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery!.status).toBe('failed');
    expect(delivery!.lastStatusCode).toBe(503);
    expect(delivery!.lastError).toBe('The endpoint answered HTTP 503');
    expect(delivery!.attempts).toBe(1);
    expect(bodies('/late')).toHaveLength(1);
    expect(delivery!.completedAt).not.toBeNull();
  });

  it('sends execution.cancelled', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/cancel`, events: ['execution.cancelled'] }, ALLOW_LOCAL);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [{ key: 'ask', description: 'ask', agentType: 'approval' }]), workspaceId: ws });
    await until('the approval to be asked', async () => (await h.database.db.execute(sql`select 1 from approvals where execution_id = ${execution.id}`)).length > 0);
    await controlExecution(h.ctx, execution.id, 'cancel');
    await h.waitForStatus(execution.id, ['cancelled']);
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery).toMatchObject({ type: 'execution.cancelled', status: 'succeeded' });
    expect(bodies('/cancel')[0]).toMatchObject({ type: 'execution.cancelled', data: { execution: { id: execution.id, status: 'cancelled' } } });
  });

  it('sends approval.requested once when a task asks, with the prompt', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/approval`, events: ['approval.requested'] }, ALLOW_LOCAL);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [{ key: 'ask', description: 'Ask the editor', agentType: 'approval' }]), workspaceId: ws });
    const [delivery] = await settledDeliveries(hook.id, 1);
    const [body] = bodies('/approval');
    expect(body).toMatchObject({ id: delivery!.id, type: 'approval.requested', data: { approval: { taskKey: 'ask', taskDescription: 'Ask the editor', prompt: 'Send the newsletter?', onTimeout: 'reject', timeoutAt: null }, execution: { id: execution.id, status: 'running' } } });
    const taskId = (body!.data as { approval: { taskId: string } }).approval.taskId;
    const [user] = await h.database.db.execute<{ id: string }>(sql`insert into users (id, email, password_hash) values ('usr_approver', 'approver@example.com', 'x') returning id`);
    await answerApproval(h.ctx, { executionId: execution.id, taskId, approved: true, userId: user!.id });
    await h.waitForStatus(execution.id, ['completed']);
    // The agent ran again after the answer and asked again: no second alert.
    expect(await deliveryRows(hook.id)).toHaveLength(1);
  });

  it('sends execution.health_below the first time the score drops under the threshold, once', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/health`, events: ['execution.health_below'], healthThreshold: 90 }, ALLOW_LOCAL);
    const low = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/health-low`, events: ['execution.health_below'], healthThreshold: 10 }, ALLOW_LOCAL);
    // Two failures, one at a time (continue): the score drops below 90 with the first and is computed again after each.
    const strategyId = await h.strategy(ws, [item('bad1', { input: { fail: true } }), item('bad2', { input: { fail: true }, dependsOn: ['ok'] }), item('ok')], { onTaskFailure: 'continue' });
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed']);
    expect(done.health.score).toBeLessThan(90);
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery).toMatchObject({ type: 'execution.health_below', status: 'succeeded' });
    const [body] = bodies('/health');
    expect(body).toMatchObject({ type: 'execution.health_below', data: { threshold: 90, execution: { id: execution.id } } });
    expect((body!.data as { health: { score: number } }).health.score).toBeLessThan(90);
    // Over the lower threshold all along: nothing for that webhook.
    expect(await deliveryRows(low.id)).toEqual([]);
    // A later computation, from two transactions at once, still sends nothing more.
    const health = { ...done.health, score: 5 };
    await Promise.all([0, 1].map(() => transaction(h.database.db, (tx) => queueHealthBelow(tx, h.ctx.queue, execution.id, ws, health))));
    expect(await deliveryRows(hook.id)).toHaveLength(1);
    expect(await settledDeliveries(low.id, 1)).toMatchObject([{ type: 'execution.health_below', status: 'succeeded' }]);
  });

  it('the marker holds across concurrent transactions: one delivery per webhook and execution', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/race`, events: ['execution.health_below'] }, ALLOW_LOCAL);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [item('a')]), workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    const health = { score: 20, completionRate: 0, taskCompletionRate: 0, errorRate: 1, lastChecked: new Date().toISOString(), issues: ['x'], averageTaskDuration: 0, agentStatus: {} };
    const made = await Promise.all(
      Array.from({ length: 6 }, () => transaction(h.database.db, (tx) => queueHealthBelow(tx, h.ctx.queue, execution.id, ws, health))),
    );
    expect(made.flat()).toHaveLength(1);
    expect(await settledDeliveries(hook.id, 1)).toHaveLength(1);
  });

  it('only sends a webhook the events it subscribed to', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/only-failed`, events: ['execution.failed'] }, ALLOW_LOCAL);
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [item('a')]), workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    expect(await deliveryRows(hook.id)).toEqual([]);
  });

  it('queues a test delivery and sends it', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/test?x=1`, events: ['execution.completed'] }, ALLOW_LOCAL);
    const queued = await sendTestDelivery(h.ctx, hook.id);
    expect(queued).toMatchObject({ webhookId: hook.id, type: 'webhook.test', executionId: null });
    const [delivery] = await settledDeliveries(hook.id, 1);
    expect(delivery).toMatchObject({ id: queued.id, status: 'succeeded', attempts: 1 });
    const request = receiver.requests.find((r) => r.path === '/test?x=1')!;
    expect(verifyWebhookSignature(hook.secret, request.headers['strata-signature'] as string, request.body)).toBe(true);
    expect(JSON.parse(request.body)).toMatchObject({ id: queued.id, type: 'webhook.test', data: { webhook: { id: hook.id } } });
    await expect(sendTestDelivery(h.ctx, 'whk_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses at delivery a host that resolves to a private address, sending nothing', async () => {
    const ws = await h.workspace();
    const port = new URL(receiver.url).port;
    // Allowed where it was created (the API's list), not where it is delivered: the attempt resolves localhost and refuses it.
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `http://localhost:${port}/private`, events: ['execution.completed'] }, allowListSet(['localhost']));
    // A delivery made by hand (no job: the test's worker, which allows 127.0.0.1, must not take it), attempted with an empty allow-list.
    await h.database.db.execute(sql`insert into webhook_deliveries (id, webhook_id, type, payload) values ('whd_private', ${hook.id}, 'webhook.test', '{}')`);
    expect(await attemptDelivery(h.ctx, { deliveryId: 'whd_private', attempt: 1 }, { allowHosts: new Set(), timeoutMs: 5000, retry: testWebhookRetry(50) })).toBe('failed');
    const [delivery] = await deliveryRows(hook.id);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: null, nextAttemptAt: null });
    expect(delivery!.lastError).toBe('Not sent: localhost is or resolves to a private or internal address (add the host to WEBHOOK_ALLOW_HOSTS to allow it)');
    expect(receiver.requests.filter((r) => r.path === '/private')).toEqual([]);
    // A stale or repeated job for it does nothing.
    expect(await attemptDelivery(h.ctx, { deliveryId: 'whd_private', attempt: 1 }, { allowHosts: ALLOW_LOCAL, timeoutMs: 5000 })).toBe('skipped');
  });

  it('deletes a webhook with its deliveries; a queued attempt of it is dropped', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: `${receiver.url}/deleted`, events: ['execution.completed'] }, ALLOW_LOCAL);
    await deleteWebhook(h.database.db, hook.id);
    expect(await listWebhooks(h.database.db, ws)).toEqual([]);
    await expect(deleteWebhook(h.database.db, hook.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const execution = await startExecution(h.ctx, { strategyId: await h.strategy(ws, [item('a')]), workspaceId: ws });
    await h.waitForStatus(execution.id, ['completed']);
    expect((await h.database.db.execute(sql`select 1 from webhook_deliveries where webhook_id = ${hook.id}`)).length).toBe(0);
    expect(receiver.requests.filter((r) => r.path === '/deleted')).toEqual([]);
  });
});

describe('creating webhooks', () => {
  const create = (url: string, extra: Record<string, unknown> = {}, allow = new Set<string>()) =>
    h.workspace().then((ws) => createWebhook(h.database.db, { workspaceId: ws, url, events: ['execution.completed'], ...extra }, allow));

  it.each([
    ['http://127.0.0.1:8080/hook', '127.0.0.1 is a private or internal address'],
    ['http://10.1.2.3/hook', '10.1.2.3 is a private or internal address'],
    ['http://[::1]/hook', '[::1] is a private or internal address'],
    ['http://169.254.169.254/latest', '169.254.169.254 is a private or internal address'],
    ['http://localhost:3000/hook', 'localhost is a private or internal address'],
    ['http://api.localhost/hook', 'api.localhost is a private or internal address'],
    ['ftp://example.com/hook', 'must be an absolute http:// or https:// URL'],
    ['example.com/hook', 'must be an absolute http:// or https:// URL'],
    ['https://user:pw@example.com/hook', 'must not carry a user name or password'],
    [`https://example.com/${'a'.repeat(2100)}`, 'must be at most 2048 characters'],
  ])('refuses %.40s', async (url, message) => {
    const error = await create(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('VALIDATION');
    expect((error as EngineError).message).toContain(message);
    expect((error as EngineError).details).toEqual({ path: 'url' });
  });

  it('allows a private host on the allow-list, and public names', async () => {
    await expect(create('http://127.0.0.1:9/x', {}, ALLOW_LOCAL)).resolves.toMatchObject({ url: 'http://127.0.0.1:9/x', healthThreshold: 60 });
    await expect(create('https://hooks.example.com/strata')).resolves.toMatchObject({ url: 'https://hooks.example.com/strata', events: ['execution.completed'] });
  });

  it('checks events and the threshold', async () => {
    await expect(create('https://example.com', { events: [] })).rejects.toThrow('events: choose at least one of');
    await expect(create('https://example.com', { events: ['execution.completed', 'execution.exploded'] })).rejects.toThrow('events[1]: "execution.exploded" is not one of');
    await expect(create('https://example.com', { healthThreshold: 101 })).rejects.toThrow('healthThreshold: must be a whole number from 0 to 100');
    await expect(create('https://example.com', { healthThreshold: -1 })).rejects.toThrow('healthThreshold');
    await expect(create('https://example.com', { events: ['approval.requested', 'execution.failed', 'approval.requested'] })).resolves.toMatchObject({ events: ['execution.failed', 'approval.requested'] });
  });

  it('holds a workspace to 20 webhooks, even when created at once', async () => {
    const ws = await h.workspace();
    const results = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) => createWebhook(h.database.db, { workspaceId: ws, url: `https://example.com/${i}`, events: ['execution.failed'] }, new Set())),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(4);
    expect(String((refused[0] as PromiseRejectedResult).reason.message)).toBe('A workspace has at most 20 webhooks: delete one first');
    const listed = await listWebhooks(h.database.db, ws);
    expect(listed).toHaveLength(20);
    expect(listed.every((w) => !('secret' in w))).toBe(true);
  });
});

describe('deliveries list and retention', () => {
  it('pages newest first and prunes only finished deliveries older than the cut', async () => {
    const ws = await h.workspace();
    const hook = await createWebhook(h.database.db, { workspaceId: ws, url: 'https://example.com/none', events: ['execution.completed'] }, new Set());
    await h.database.db.execute(sql`
      insert into webhook_deliveries (id, webhook_id, type, payload, status, created_at)
      select 'whd_seed' || lpad(n::text, 2, '0'), ${hook.id}, 'webhook.test', '{}'::jsonb,
        case when n = 1 then 'pending' else 'succeeded' end, now() - (n || ' days')::interval
      from generate_series(1, 5) n`);
    const first = await listWebhookDeliveries(h.database.db, hook.id, { limit: 2 });
    expect(first.deliveries.map((d) => d.id)).toEqual(['whd_seed01', 'whd_seed02']);
    const second = await listWebhookDeliveries(h.database.db, hook.id, { limit: 2, cursor: first.nextCursor! });
    expect(second.deliveries.map((d) => d.id)).toEqual(['whd_seed03', 'whd_seed04']);
    const third = await listWebhookDeliveries(h.database.db, hook.id, { limit: 2, cursor: second.nextCursor! });
    expect(third).toEqual({ deliveries: [expect.objectContaining({ id: 'whd_seed05' })], nextCursor: null });
    await expect(listWebhookDeliveries(h.database.db, hook.id, { cursor: 'nonsense' })).rejects.toThrow('cursor: not a cursor this list returned');
    // Older than 2.5 days: seeds 3, 4, 5 (all finished); seed 1 is pending and young anyway.
    await h.database.db.execute(sql`update webhook_deliveries set status = 'pending' where id = 'whd_seed05'`);
    expect(await pruneWebhookDeliveries(h.database.db, new Date(Date.now() - 2.5 * 86_400_000))).toBe(2);
    expect((await listWebhookDeliveries(h.database.db, hook.id)).deliveries.map((d) => d.id)).toEqual(['whd_seed01', 'whd_seed02', 'whd_seed05']);
  });
});

describe('verifyWebhookSignature', () => {
  const secret = 'whsec_test';
  const body = '{"id":"whd_1"}';
  const at = new Date('2026-11-20T10:00:00Z');
  const t = Math.floor(at.getTime() / 1000);

  it('accepts within the tolerance and refuses outside it, tampering and malformed headers', async () => {
    const { signWebhookBody } = await import('./signature.ts');
    const header = signWebhookBody(secret, body, t);
    expect(verifyWebhookSignature(secret, header, body, { now: at })).toBe(true);
    expect(verifyWebhookSignature(secret, header, Buffer.from(body), { now: new Date(at.getTime() + 299_000) })).toBe(true);
    expect(verifyWebhookSignature(secret, header, body, { now: new Date(at.getTime() + 301_000) })).toBe(false);
    expect(verifyWebhookSignature(secret, header, body, { now: new Date(at.getTime() + 3_000_000), toleranceSeconds: 3600 })).toBe(true);
    expect(verifyWebhookSignature(secret, header, `${body} `, { now: at })).toBe(false);
    expect(verifyWebhookSignature(secret, header.replace(`t=${t}`, `t=${t + 1}`), body, { now: at })).toBe(false);
    expect(verifyWebhookSignature(secret, `${header},v1=${'0'.repeat(64)}`, body, { now: at })).toBe(true);
    expect(verifyWebhookSignature(secret, `t=${t}`, body, { now: at })).toBe(false);
    expect(verifyWebhookSignature(secret, 'garbage', body, { now: at })).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, body, { now: at })).toBe(false);
  });
});
