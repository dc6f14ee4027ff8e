import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleRest } from '@strata/api';
import { type ApiHarness, createApiHarness } from '@strata/api/testing';
import { startWebhookDeliveryWorker, testWebhookRetry, type WebhookDeliveryWorker } from '@strata/engine';
import { silentLogger, until } from '@strata/engine/testing';
import { allowListSet } from '@strata/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataApiError, StrataRestClient } from './rest.ts';
import { verifyWebhookSignature } from './webhooks.ts';

/**
 * Webhooks as an integrator uses them: created, tested and read through the REST client, received
 * by a local endpoint that checks every signature with the exported verifier and fails the first
 * attempt, so the retry is seen too.
 */
let h: ApiHarness;
let client: StrataRestClient;
let workspaceId: string;
let deliveries: WebhookDeliveryWorker;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const answers: number[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.statusCode = answers.shift() ?? 204;
    res.end();
  });
});

beforeAll(async () => {
  // The receiver listens on 127.0.0.1: allowed explicitly, as WEBHOOK_ALLOW_HOSTS would.
  const allowHosts = allowListSet(['127.0.0.1']);
  h = await createApiHarness({ webhookAllowHosts: allowHosts });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  deliveries = await startWebhookDeliveryWorker({ boss: h.boss, ctx: h.ctx, logger: silentLogger, allowHosts, timeoutMs: 5000, retry: testWebhookRetry(50), pollSeconds: 0.5 });
  const { token } = await h.signup('client@example.com');
  workspaceId = await h.createWorkspace(token);
  client = new StrataRestClient({ baseUrl: 'http://strata.test', token, backoffMs: 1, fetch: (input, init) => handleRest(new Request(input, init), h.deps, { clientAddress: null }) });
});
afterAll(async () => {
  await deliveries?.stop();
  await new Promise((r) => server.close(r));
  await h?.close();
});

describe('webhooks through the REST client', () => {
  it('creates one, sends a test that is retried after a 500 and verifies, lists and deletes it', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/strata`;
    const { webhook } = await client.createWebhook({ workspaceId, url, events: ['execution.completed', 'approval.requested'], healthThreshold: 50 });
    expect(webhook).toMatchObject({ url, events: ['execution.completed', 'approval.requested'], healthThreshold: 50 });
    const { secret: _, ...listed } = webhook;
    expect((await client.listWebhooks(workspaceId)).webhooks).toEqual([listed]);

    answers.push(500);
    const { delivery } = await client.sendTestWebhook(webhook.id);
    expect(delivery).toMatchObject({ type: 'webhook.test', status: 'pending' });
    const done = await until('the test delivery to succeed', async () => {
      const [row] = (await client.listWebhookDeliveries(webhook.id)).deliveries;
      return row?.status === 'succeeded' ? row : undefined;
    });
    expect(done).toMatchObject({ id: delivery.id, attempts: 2, lastStatusCode: 204, lastError: null });
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(verifyWebhookSignature(webhook.secret, r.headers['strata-signature'] as string, r.body, { toleranceSeconds: 300 })).toBe(true);
      expect(JSON.parse(r.body)).toMatchObject({ id: delivery.id, type: 'webhook.test', workspaceId });
    }
    expect(verifyWebhookSignature(webhook.secret, received[0]!.headers['strata-signature'] as string, received[0]!.body, { now: new Date(Date.now() + 600_000) })).toBe(false);

    const second = await client.sendTestWebhook(webhook.id);
    await until('the second delivery', async () => (await client.listWebhookDeliveries(webhook.id)).deliveries.every((d) => d.status === 'succeeded') || undefined);
    const page = await client.listWebhookDeliveries(webhook.id, { limit: 1 });
    expect(page.deliveries.map((d) => d.id)).toEqual([second.delivery.id]);
    expect((await client.listWebhookDeliveries(webhook.id, { limit: 1, cursor: page.nextCursor! })).deliveries.map((d) => d.id)).toEqual([delivery.id]);

    const refused = await client.createWebhook({ workspaceId, url: 'http://10.0.0.1/x', events: ['execution.failed'] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StrataApiError);
    expect(refused).toMatchObject({ status: 400, body: { field: 'url' } });

    expect(await client.deleteWebhook(webhook.id)).toEqual({ success: true });
    expect((await client.listWebhooks(workspaceId)).webhooks).toEqual([]);
  });
});
