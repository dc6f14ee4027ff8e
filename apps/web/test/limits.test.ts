import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness, keyedGates } from '@strata/engine/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yProblems } from './axe.ts';
import { launchBrowser, loggedInPage } from './browser.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Issue 14, load under control, in the dashboard: an admin sets the workspace's limits (a
 * refusal beside its field), a viewer reads them, a throttled task reads "throttled (limit …)"
 * in the task table and the drawer, and the strategy form puts a key's refusal beside its field.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;
const gates = keyedGates();

const PASSWORD = 'a limits password';

const signup = async (email: string): Promise<string> => (await apiCall(web.url, '/api/auth/signup', { body: { email, password: PASSWORD } })).body.token;

const logIn = (email: string) => loggedInPage(browser, web.url, email, PASSWORD);

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('email', async ({ task }) => {
    await gates.gate(task.key).promise;
    return { sent: true };
  });
  await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 4 } });
  web = await startWeb({ DATABASE_URL: h.database.url });
  browser = await launchBrowser();
  const token = await signup('admin@example.com');
  await signup('viewer@example.com');
  workspaceId = (await apiCall(web.url, '/api/workspaces', { body: { name: 'Mailing' }, token })).body.workspace.id;
  const [viewer] = await h.database.sql<{ id: string }[]>`select id from users where email = 'viewer@example.com'`;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${viewer!.id}, 'viewer')`;
});
afterAll(async () => {
  for (const g of gates.all()) g.resolve();
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('limits in the dashboard', () => {
  it('an admin sets them (a refusal beside its field), a throttled task says which limit holds it, a viewer only reads them', async () => {
    const { page, errors } = await logIn('admin@example.com');
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    const panel = page.getByTestId('limits');
    const concurrency = panel.getByLabel('At once for email', { exact: true });
    const perMinute = panel.getByLabel('Starts per minute for email', { exact: true });

    // Refused: the server's message beside the field it names.
    await concurrency.fill('0');
    await panel.getByRole('button', { name: 'Save limits' }).click();
    const refusal = panel.locator('#limit-email-concurrency-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('agents.email.concurrency: must be at least 1');
    expect(await concurrency.getAttribute('aria-invalid')).toBe('true');
    expect(await h.database.sql`select 1 from workspace_limits where workspace_id = ${workspaceId}`).toHaveLength(0);

    await concurrency.fill('1');
    await perMinute.fill('30');
    await panel.getByRole('button', { name: 'Save limits' }).click();
    await panel.getByRole('status').filter({ hasText: 'Limits saved.' }).waitFor();
    expect(await concurrency.getAttribute('aria-invalid')).toBeNull();
    expect(await h.database.sql`select agent_type, concurrency, per_minute from workspace_limits where workspace_id = ${workspaceId}`).toEqual([{ agent_type: 'email', concurrency: 1, per_minute: 30 }]);
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Two mails, one at a time: the second waits throttled, and the dashboard says why.
    const strategyId = await h.strategy(workspaceId, [
      { key: 'first', description: 'First mail', agentType: 'email' },
      { key: 'second', description: 'Second mail', agentType: 'email' },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId });
    await page.goto(`${web.url}/app/executions/${execution.id}`);
    await page.locator('[data-connection="live"]').waitFor();
    const throttled = page.locator('[data-task-status="assigned"] [data-throttle="concurrency"]');
    await throttled.waitFor();
    expect(await throttled.textContent()).toBe('(limit concurrency: 1 email tasks at once)');
    const row = page.locator('[data-task-status="assigned"]');
    expect(await row.locator('[data-status="throttled"]').textContent()).toBe('throttled');
    const key = await row.getAttribute('data-task');
    await page.click(`[data-open-task="${key}"]`);
    expect((await page.locator(`[data-drawer="${key}"] [data-drawer-throttle]`).textContent())?.trim()).toBe('(limit concurrency: 1 email tasks at once)');
    await page.keyboard.press('Escape');
    // The first ends: the second starts at once, live.
    const first = key === 'first' ? 'second' : 'first';
    gates.gate(first).resolve();
    await page.locator(`[data-task="${key}"][data-task-status="in_progress"]`).waitFor();
    expect(await page.locator('[data-throttle]').count()).toBe(0);
    gates.gate(key!).resolve();
    await page.locator('[data-execution-status="completed"]').waitFor();

    // The strategy form: a key without a limit is refused beside the item's field.
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/new`, { waitUntil: 'networkidle' });
    await page.locator('#strategy-name').fill('Per recipient');
    await page.getByRole('button', { name: 'Add item', exact: true }).click();
    const item = page.locator('[data-item-index="0"]');
    await item.getByLabel('Agent', { exact: true }).selectOption('email');
    await item.getByLabel('Item description', { exact: true }).fill('Mail one recipient');
    await item.getByLabel('Concurrency key', { exact: true }).fill('{{to}}');
    await page.click('button[type=submit]');
    const keyError = item.locator('p.field-error', { hasText: 'a concurrencyKey needs keyConcurrency or keyPerMinute' });
    await keyError.waitFor();
    expect(await item.getByLabel('At once per key', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await item.getByLabel('At once per key', { exact: true }).fill('1');
    await page.locator('#strategy-max-concurrency').fill('2');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    await page.locator('[data-concurrency-key]', { hasText: '1 at once' }).waitFor();
    const [stored] = await h.database.sql<{ max_concurrency: number; concurrency_key: string; key_concurrency: number }[]>`
      select v.max_concurrency, i.concurrency_key, i.key_concurrency from strategy_versions v join strategy_items i on i.strategy_id = v.strategy_id and i.version = v.version and i.level = 4
      where v.strategy_id = ${new URL(page.url()).pathname.split('/').pop()!}`;
    expect(stored).toEqual({ max_concurrency: 2, concurrency_key: '{{to}}', key_concurrency: 1 });
    expect(errors).toEqual([]);

    // A viewer reads the limits and cannot change them.
    const viewer = await logIn('viewer@example.com');
    await viewer.page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    const readOnly = viewer.page.getByTestId('limits');
    expect(await readOnly.locator('tr[data-agent="email"]').textContent()).toBe('email130');
    expect(await readOnly.locator('input').count()).toBe(0);
    expect(await readOnly.getByRole('button').count()).toBe(0);
    expect(viewer.errors).toEqual([]);
  });
});
