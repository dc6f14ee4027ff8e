import { allowListSet } from '@strata/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../context.ts';
import { openApiDocument } from '../openapi.ts';
import { appRouter } from '../root.ts';
import { type ApiHarness, createApiHarness } from '../testing.ts';

/**
 * Webhooks over REST (and the same procedures over tRPC): admins and owners only, the secret
 * shown once, validation as 400 naming the field, 404 before 403 for a webhook, the test
 * delivery. Delivery itself is tested in the engine and, end to end, in the client package.
 */
let h: ApiHarness;
let owner: { token: string; userId: string };
let admin: { token: string; userId: string };
let operator: { token: string; userId: string };
let viewer: { token: string; userId: string };
let outsider: { token: string; userId: string };
let workspaceId: string;

beforeAll(async () => {
  h = await createApiHarness({ webhookAllowHosts: allowListSet(['hooks.internal', '10.0.0.5']) });
  owner = await h.signup('owner@example.com');
  admin = await h.signup('admin@example.com');
  operator = await h.signup('operator@example.com');
  viewer = await h.signup('viewer@example.com');
  outsider = await h.signup('outsider@example.com');
  workspaceId = await h.createWorkspace(owner.token, 'Acme');
  await h.addMember(owner.token, workspaceId, { token: admin.token, email: 'admin@example.com' }, 'admin');
  await h.addMember(owner.token, workspaceId, { token: operator.token, email: 'operator@example.com' }, 'operator');
  await h.addMember(owner.token, workspaceId, { token: viewer.token, email: 'viewer@example.com' }, 'viewer');
});
afterAll(async () => {
  await h?.close();
});

const body = (extra: Record<string, unknown> = {}) => ({ workspaceId, url: 'https://hooks.example.com/strata', events: ['execution.failed'], ...extra });

describe('POST /api/webhooks', () => {
  it('creates for an admin, with the secret in this answer only', async () => {
    const res = await h.call('POST', '/api/webhooks', { token: admin.token, body: body({ events: ['execution.failed', 'execution.health_below'], healthThreshold: 75 }) });
    expect(res.status).toBe(201);
    expect(res.body.webhook).toMatchObject({
      workspaceId,
      url: 'https://hooks.example.com/strata',
      events: ['execution.failed', 'execution.health_below'],
      healthThreshold: 75,
      createdBy: admin.userId,
    });
    expect(res.body.webhook.id).toMatch(/^whk_/);
    expect(res.body.webhook.secret).toMatch(/^whsec_[a-z0-9]{32}$/);
    const listed = await h.call('GET', `/api/webhooks?workspaceId=${workspaceId}`, { token: owner.token });
    expect(listed.status).toBe(200);
    const mine = listed.body.webhooks.find((w: { id: string }) => w.id === res.body.webhook.id);
    const { secret: _, ...withoutSecret } = res.body.webhook;
    expect(mine).toEqual(withoutSecret);
    expect(JSON.stringify(listed.body)).not.toContain(res.body.webhook.secret);
  });

  it.each([
    [{ url: 'http://192.168.1.10/hook' }, 'url: 192.168.1.10 is a private or internal address; webhooks are not sent there unless the host is listed in WEBHOOK_ALLOW_HOSTS', 'url'],
    [{ url: 'http://localhost:8080/' }, 'url: localhost is a private or internal address; webhooks are not sent there unless the host is listed in WEBHOOK_ALLOW_HOSTS', 'url'],
    [{ url: 'javascript:alert(1)' }, 'url: must be an absolute http:// or https:// URL', 'url'],
    [{ url: `https://example.com/${'x'.repeat(2048)}` }, 'url: must be at most 2048 characters', 'url'],
    [{ url: undefined }, 'url: url is required', 'url'],
    [{ events: [] }, 'events: choose at least one of execution.completed, execution.failed, execution.cancelled, execution.health_below, approval.requested', 'events'],
    [{ events: ['execution.started'] }, 'events[0]: "execution.started" is not one of execution.completed, execution.failed, execution.cancelled, execution.health_below, approval.requested', 'events[0]'],
    [{ events: 'execution.failed' }, 'events: must be a list of event types', 'events'],
    [{ healthThreshold: 101 }, 'healthThreshold: must be a whole number from 0 to 100', 'healthThreshold'],
    [{ healthThreshold: 12.5 }, 'healthThreshold: must be a whole number from 0 to 100', 'healthThreshold'],
  ])('refuses %j with a 400 naming the field', async (extra, error, field) => {
    const res = await h.call('POST', '/api/webhooks', { token: admin.token, body: body(extra) });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error, field });
  });

  it('accepts private hosts on WEBHOOK_ALLOW_HOSTS', async () => {
    for (const url of ['http://hooks.internal:9000/strata', 'http://10.0.0.5/hook']) {
      const res = await h.call('POST', '/api/webhooks', { token: owner.token, body: body({ url }) });
      expect(res.status).toBe(201);
    }
  });

  it('refuses operators, viewers and outsiders (403), and anonymous callers (401)', async () => {
    for (const who of [operator, viewer, outsider]) {
      const res = await h.call('POST', '/api/webhooks', { token: who.token, body: body() });
      expect(res).toMatchObject({ status: 403, body: { error: 'Access denied' } });
      const list = await h.call('GET', `/api/webhooks?workspaceId=${workspaceId}`, { token: who.token });
      expect(list).toMatchObject({ status: 403, body: { error: 'Access denied' } });
    }
    expect((await h.call('POST', '/api/webhooks', { body: body() })).status).toBe(401);
  });
});

describe('a webhook', () => {
  let webhookId: string;
  beforeAll(async () => {
    const res = await h.call('POST', '/api/webhooks', { token: owner.token, body: body({ events: ['execution.completed'] }) });
    webhookId = res.body.webhook.id;
  });

  it('queues a test delivery and lists it, newest first, a page at a time', async () => {
    const first = await h.call('POST', `/api/webhooks/${webhookId}/test`, { token: admin.token });
    expect(first.status).toBe(201);
    expect(first.body.delivery).toMatchObject({ webhookId, type: 'webhook.test', status: 'pending', attempts: 0, executionId: null, lastStatusCode: null });
    const second = await h.call('POST', `/api/webhooks/${webhookId}/test`, { token: owner.token });
    const page = await h.call('GET', `/api/webhooks/${webhookId}/deliveries?limit=1`, { token: admin.token });
    expect(page.status).toBe(200);
    expect(page.body.deliveries.map((d: { id: string }) => d.id)).toEqual([second.body.delivery.id]);
    const next = await h.call('GET', `/api/webhooks/${webhookId}/deliveries?limit=1&cursor=${page.body.nextCursor}`, { token: admin.token });
    expect(next.body).toEqual({ deliveries: [first.body.delivery], nextCursor: null });
    expect((await h.call('GET', `/api/webhooks/${webhookId}/deliveries?limit=0`, { token: admin.token })).status).toBe(400);
    expect(await h.call('GET', `/api/webhooks/${webhookId}/deliveries?cursor=zzz`, { token: admin.token })).toMatchObject({ status: 400, body: { error: 'cursor: not a cursor this list returned' } });
  });

  it('answers 404 for an unknown webhook and 403 for one the caller may not manage', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/webhooks/whk_missing'],
      ['GET', '/api/webhooks/whk_missing/deliveries'],
      ['POST', '/api/webhooks/whk_missing/test'],
    ] as const) {
      expect(await h.call(method, path, { token: owner.token })).toMatchObject({ status: 404, body: { error: 'Webhook not found' } });
      for (const who of [operator, viewer, outsider]) {
        expect(await h.call(method, path.replace('whk_missing', webhookId), { token: who.token })).toMatchObject({ status: 403, body: { error: 'Access denied' } });
      }
    }
  });

  it('is deleted with its deliveries (then 404)', async () => {
    const created = await h.call('POST', '/api/webhooks', { token: owner.token, body: body() });
    const id = created.body.webhook.id;
    await h.call('POST', `/api/webhooks/${id}/test`, { token: owner.token });
    expect(await h.call('DELETE', `/api/webhooks/${id}`, { token: admin.token })).toMatchObject({ status: 200, body: { success: true } });
    expect((await h.call('DELETE', `/api/webhooks/${id}`, { token: admin.token })).status).toBe(404);
    expect((await h.call('GET', `/api/webhooks/${id}/deliveries`, { token: admin.token })).status).toBe(404);
    const rows = await h.database.sql`select 1 from webhook_deliveries where webhook_id = ${id}`;
    expect(rows).toHaveLength(0);
  });

  it('keeps a workspace to 20 webhooks', async () => {
    const ws = await h.createWorkspace(owner.token, 'Many');
    for (let i = 0; i < 20; i++) expect((await h.call('POST', '/api/webhooks', { token: owner.token, body: body({ workspaceId: ws }) })).status).toBe(201);
    expect(await h.call('POST', '/api/webhooks', { token: owner.token, body: body({ workspaceId: ws }) })).toMatchObject({
      status: 400,
      body: { error: 'A workspace has at most 20 webhooks: delete one first' },
    });
  });
});

describe('over tRPC', () => {
  it('applies the same checks and roles', async () => {
    const as = async (token: string) => appRouter.createCaller(await createContext(h.deps, new Headers({ authorization: `Bearer ${token}` })));
    const ownerCaller = await as(owner.token);
    await expect(ownerCaller.webhooks.create({ workspaceId, url: 'http://127.0.0.1/x', events: ['execution.failed'] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'url: 127.0.0.1 is a private or internal address; webhooks are not sent there unless the host is listed in WEBHOOK_ALLOW_HOSTS',
    });
    const { webhook } = await ownerCaller.webhooks.create({ workspaceId, url: 'https://example.org/h', events: ['approval.requested'] });
    expect(webhook.secret).toMatch(/^whsec_/);
    const operatorCaller = await as(operator.token);
    await expect(operatorCaller.webhooks.list({ workspaceId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(operatorCaller.webhooks.test({ id: webhook.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { delivery } = await ownerCaller.webhooks.test({ id: webhook.id });
    expect((await ownerCaller.webhooks.deliveries({ id: webhook.id, limit: 10 })).deliveries).toEqual([delivery]);
    await ownerCaller.webhooks.delete({ id: webhook.id });
    expect((await ownerCaller.webhooks.list({ workspaceId })).webhooks.some((w) => w.id === webhook.id)).toBe(false);
  });
});

describe('OpenAPI', () => {
  it('documents every webhook route with its body and answers', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { summary?: string; requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths['/api/webhooks']!).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/api/webhooks']!.post!.requestBody).toBeDefined();
    expect(doc.paths['/api/webhooks']!.post!.responses['201']).toBeDefined();
    expect(doc.paths['/api/webhooks/{id}']!.delete).toBeDefined();
    expect(doc.paths['/api/webhooks/{id}/deliveries']!.get!.summary).toContain('newest first');
    expect(doc.paths['/api/webhooks/{id}/test']!.post!.responses['201']).toBeDefined();
  });
});
