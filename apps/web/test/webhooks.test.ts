import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWebhookDeliveryWorker, testWebhookRetry, type WebhookDeliveryWorker } from '@strata/engine';
import { createEngineHarness, type EngineHarness, silentLogger, until } from '@strata/engine/testing';
import { verifyWebhookSignature } from '@strata/client/webhooks';
import { allowListSet } from '@strata/net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yProblems } from './axe.ts';
import { launchBrowser, loggedInPage } from './browser.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Alerts by webhook in the workspace settings: an owner adds one (a refusal beside its field),
 * copies the secret shown once, sends a test that a local endpoint receives and verifies, reads
 * its deliveries and deletes it after confirming; an operator sees no Webhooks section.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let deliveries: WebhookDeliveryWorker;
let workspaceId: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.end('thanks');
  });
});

const PASSWORD = 'a webhooks password';
const signup = async (email: string): Promise<string> => (await apiCall(web.url, '/api/auth/signup', { body: { email, password: PASSWORD } })).body.token;

beforeAll(async () => {
  h = await createEngineHarness();
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  // The receiver is on 127.0.0.1: the web process allows it at creation, the delivery worker at delivery.
  web = await startWeb({ DATABASE_URL: h.database.url, WEBHOOK_ALLOW_HOSTS: '127.0.0.1' });
  deliveries = await startWebhookDeliveryWorker({ boss: h.boss, ctx: h.ctx, logger: silentLogger, allowHosts: allowListSet(['127.0.0.1']), timeoutMs: 5000, retry: testWebhookRetry(50), pollSeconds: 0.5 });
  browser = await launchBrowser();
  const token = await signup('owner@example.com');
  await signup('operator@example.com');
  workspaceId = (await apiCall(web.url, '/api/workspaces', { body: { name: 'Alerts' }, token })).body.workspace.id;
  const [operator] = await h.database.sql<{ id: string }[]>`select id from users where email = 'operator@example.com'`;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${operator!.id}, 'operator')`;
});
afterAll(async () => {
  await browser?.close();
  await deliveries?.stop();
  await web?.stop();
  await new Promise((r) => receiver.close(r));
  await h?.close();
});

describe('webhooks in the dashboard', () => {
  it('an owner adds one, copies its secret, sends a test, reads the deliveries and deletes it', async () => {
    const { page, errors } = await loggedInPage(browser, web.url, 'owner@example.com', PASSWORD);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.url });
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    const panel = page.getByTestId('webhooks');
    await panel.getByText('No webhooks for this workspace yet.').waitFor();

    // Refused: a private address, the server's message beside the URL field.
    await panel.getByLabel('URL').fill('http://10.0.0.8/hook');
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    const refusal = panel.locator('#webhook-url-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('url: 10.0.0.8 is a private or internal address; webhooks are not sent there unless the host is listed in WEBHOOK_ALLOW_HOSTS');
    expect(await panel.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');

    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    await panel.getByLabel('URL').fill(url);
    await panel.getByLabel(/Execution completed/).check();
    await panel.getByLabel(/Health score below the threshold/).check();
    await panel.getByLabel('Health threshold (0–100)').fill('40');
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    const secretBox = panel.getByLabel("The new webhook's signing secret");
    await secretBox.waitFor();
    const secret = await secretBox.inputValue();
    expect(secret).toMatch(/^whsec_[a-z0-9]{32}$/);
    await panel.getByRole('button', { name: 'Copy' }).click();
    await panel.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const [stored] = await h.database.sql<{ events: string[]; health_threshold: number }[]>`select events, health_threshold from webhooks where workspace_id = ${workspaceId}`;
    expect(stored).toEqual({ events: ['execution.completed', 'execution.failed', 'execution.health_below'], health_threshold: 40 });
    const row = panel.locator(`tr[data-webhook="${url}"]`);
    expect(await row.textContent()).toContain('execution.health_below < 40');
    await panel.getByRole('button', { name: 'Done' }).click();
    // Shown once: gone from the page after Done, and after a reload.
    expect(await page.content()).not.toContain(secret);
    await page.reload({ waitUntil: 'networkidle' });
    expect(await page.content()).not.toContain(secret);
    expect(await seriousA11yProblems(page)).toEqual([]);

    await panel.getByRole('button', { name: `Send test to ${url}` }).click();
    await panel.getByText(`Test delivery queued for ${url}.`).waitFor();
    await until('the test to arrive', () => received.length === 1);
    expect(verifyWebhookSignature(secret, received[0]!.headers['strata-signature'] as string, received[0]!.body)).toBe(true);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'webhook.test', workspaceId });
    // The list shows it sent once the worker recorded it (Refresh re-reads it).
    const list = panel.getByRole('table', { name: `Deliveries to ${url}` });
    await until('the delivery to show as succeeded', async () => {
      await panel.getByRole('button', { name: 'Refresh' }).click();
      return (await list.locator('tr[data-status="succeeded"]').count()) === 1;
    });
    const delivered = list.locator('tr[data-status="succeeded"]');
    expect(await delivered.textContent()).toContain('webhook.test');
    expect(await delivered.textContent()).toContain('HTTP 200');
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Delete asks first: dismissed, nothing happens; accepted, it is gone.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await panel.getByRole('button', { name: `Delete the webhook to ${url}` }).click();
    expect(await h.database.sql`select 1 from webhooks where workspace_id = ${workspaceId}`).toHaveLength(1);
    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain(url);
      void dialog.accept();
    });
    await panel.getByRole('button', { name: `Delete the webhook to ${url}` }).click();
    await panel.getByText('No webhooks for this workspace yet.').waitFor();
    expect(await h.database.sql`select 1 from webhooks where workspace_id = ${workspaceId}`).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('an operator sees no Webhooks section', async () => {
    const { page, errors } = await loggedInPage(browser, web.url, 'operator@example.com', PASSWORD);
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    await page.getByRole('heading', { name: 'Limits' }).waitFor();
    expect(await page.getByTestId('webhooks').count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Webhooks' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
