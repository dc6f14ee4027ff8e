import { readFile } from 'node:fs/promises';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Strategies in the dashboard, in a real browser against the built app and a real database:
 * a new user builds a six-item strategy with dependencies through the form (a refused save
 * shows its error beside the field), edits it into version 2, exports, imports, duplicates and
 * starts it. axe-core finds no serious or critical violation on the list, the page and the form.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;

const item = (page: Page, index: number) => page.locator(`[data-item-index="${index}"]`);
const field = (scope: Locator, label: string) => scope.getByLabel(label, { exact: true });

/** Fills one item of the form; its input stays the agent's example unless `fill` changes it. */
async function fillItem(page: Page, index: number, values: { key: string; description: string; agent: string; dependsOn?: string[]; l1?: string; l2?: string; priority?: string }) {
  await page.getByRole('button', { name: 'Add item', exact: true }).click();
  const scope = item(page, index);
  await field(scope, 'Agent').selectOption(values.agent);
  await field(scope, 'Key').fill(values.key);
  await field(scope, 'Item description').fill(values.description);
  if (values.priority) await field(scope, 'Priority').selectOption(values.priority);
  if (values.l1) await field(scope, 'L1 objective').fill(values.l1);
  if (values.l2) await field(scope, 'L2').fill(values.l2);
  for (const dep of values.dependsOn ?? []) await scope.locator('.deps').getByLabel(dep, { exact: true }).check();
}

beforeAll(async () => {
  h = await createEngineHarness();
  for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) h.registry.register(type, () => ({ done: type }));
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('strategies in the dashboard', () => {
  it('builds, edits, exports, imports, duplicates and starts a strategy', async () => {
    const { page, errors } = await newCheckedPage(browser);

    // Sign up and create a workspace through the pages.
    await page.goto(`${web.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Sam Strategist');
    await page.fill('input[name=email]', 'sam@example.com');
    await page.fill('input[name=password]', 'a strategist password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app`);
    await page.fill('input[name=workspace-name]', 'Launch team');
    await page.click('button:has-text("Create workspace")');
    await page.waitForURL(/\/app\/w\/ws_/);
    const workspacePath = new URL(page.url()).pathname;
    expect(await page.locator('main').textContent()).toContain('No strategies yet.');

    // The list of strategies: empty, with the way to create one.
    await page.goto(`${web.url}${workspacePath}/strategies`, { waitUntil: 'networkidle' });
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.click('a:has-text("Create the first strategy")');
    await page.waitForURL(`${web.url}${workspacePath}/strategies/new`);
    await page.waitForLoadState('networkidle');

    // Six items with dependencies, through the form.
    await page.locator('#strategy-name').fill('Spring launch');
    await page.getByLabel('Description', { exact: true }).first().fill('Announce the spring release');
    await fillItem(page, 0, { key: 'research', description: 'Research the market', agent: 'research', l1: 'Grow', l2: 'Discover', priority: 'high' });
    await fillItem(page, 1, { key: 'analyse', description: 'Analyse the findings', agent: 'analysis', dependsOn: ['research'], l1: 'Grow', l2: 'Discover' });
    await fillItem(page, 2, { key: 'write', description: 'Write the announcement', agent: 'content', dependsOn: ['research'], l1: 'Grow', l2: 'Launch' });
    await fillItem(page, 3, { key: 'schedule', description: 'Schedule the review', agent: 'scheduling', l1: 'Grow', l2: 'Launch' });
    await fillItem(page, 4, { key: 'mail', description: 'Mail the customers', agent: 'email', dependsOn: ['write'], l1: 'Grow', l2: 'Launch' });
    await fillItem(page, 5, { key: 'wrap-up', description: '', agent: 'coordination', dependsOn: ['analyse', 'mail', 'schedule'], l1: 'Grow', l2: 'Launch' });
    // The content agent's input is a form from its JSON Schema: its prompt is a field of its own.
    await field(item(page, 2), 'Prompt *').fill('Announce the spring release to our customers');
    expect(await page.locator('.strategy-form svg [data-node-id]').count()).toBe(6);
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'strategy-form', { fullPage: false });

    // A refused save: the server's error is shown beside the field it names, and nothing is created.
    await page.click('button[type=submit]');
    const descriptionError = item(page, 5).locator('p.field-error', { hasText: 'description is required' });
    await descriptionError.waitFor();
    expect(await field(item(page, 5), 'Item description').getAttribute('aria-invalid')).toBe('true');
    expect(await field(item(page, 5), 'Item description').getAttribute('aria-describedby')).toBe(await descriptionError.getAttribute('id'));
    expect(page.url()).toBe(`${web.url}${workspacePath}/strategies/new`);

    // A refused input: the agent's own check, beside the input field it concerns.
    await field(item(page, 5), 'Item description').fill('Wrap up the launch');
    await field(item(page, 5), 'Wait seconds').fill('-5');
    await page.click('button[type=submit]');
    const inputError = item(page, 5).locator('p.field-error', { hasText: 'Too small' });
    await inputError.waitFor();
    expect(await field(item(page, 5), 'Wait seconds').getAttribute('aria-invalid')).toBe('true');
    expect((await h.database.sql`select count(*)::int as n from strategies`)[0]?.n).toBe(0);

    await field(item(page, 5), 'Wait seconds').fill('');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    const strategyUrl = page.url();
    await page.waitForLoadState('networkidle');

    // The strategy page: levels, the graph, version 1.
    expect(await page.locator('h1').textContent()).toBe('Spring launch');
    expect(await page.getByTestId('strategy-version').textContent()).toBe('Version 1');
    expect(await page.locator('svg [data-node-id]').count()).toBe(6);
    expect(await page.locator('svg path.edge').count()).toBe(6);
    expect(await page.locator('[aria-label="Levels"] .level').allTextContents()).toEqual(['L1 Grow', 'L2 Discover', 'L2 Launch']);
    expect(await page.locator('[data-node-id="wrap-up"]').getAttribute('aria-label')).toBe('Wrap up the launch wrap-up · coordination · medium, depends on Analyse the findings, Mail the customers, Schedule the review');
    // Keyboard: the graph is one tab stop; arrows move between nodes; Enter selects one.
    await page.locator('[data-node-id="research"]').focus();
    await page.keyboard.press('End');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-node-id'))).toBe('wrap-up');
    await page.keyboard.press('Enter');
    expect(await page.locator('#l4-wrap-up').getAttribute('class')).toContain('selected');
    const stored = await h.database.sql<{ key: string; depends_on: string[]; agent_type: string; input: Record<string, unknown> }[]>`
      select key, depends_on, agent_type, input from strategy_items where level = 4 order by position`;
    expect(stored.map((row) => [row.key, row.depends_on, row.agent_type])).toEqual([
      ['research', [], 'research'],
      ['analyse', ['research'], 'analysis'],
      ['write', ['research'], 'content'],
      ['schedule', [], 'scheduling'],
      ['mail', ['write'], 'email'],
      ['wrap-up', ['analyse', 'mail', 'schedule'], 'coordination'],
    ]);
    expect(stored[2]?.input).toMatchObject({ prompt: 'Announce the spring release to our customers' });
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'strategy-page');

    // Edit: a seventh item; saving writes version 2, and version 1 stays readable.
    await page.click('a:has-text("Edit")');
    await page.waitForURL(`${strategyUrl}/edit`);
    await page.waitForLoadState('networkidle');
    await fillItem(page, 6, { key: 'follow-up', description: 'Follow up a week later', agent: 'email', dependsOn: ['wrap-up'] });
    await page.click('button:has-text("Save version 2")');
    await page.waitForURL(strategyUrl);
    await page.getByTestId('strategy-version').filter({ hasText: 'Version 2' }).waitFor();
    expect(await page.locator('svg [data-node-id]').count()).toBe(7);
    expect(await page.getByTestId('versions').locator('li').allTextContents()).toEqual([expect.stringContaining('Version 2 (latest)'), expect.stringContaining('Version 1')]);
    // The two versions compared: the item the edit added.
    await page.getByRole('button', { name: 'Compare' }).click();
    expect(await page.getByTestId('version-diff').textContent()).toContain('Added follow-up (email): Follow up a week later');
    await page.getByTestId('versions').locator('a', { hasText: 'Version 1' }).click();
    await page.waitForURL(`${strategyUrl}?version=1`);
    await page.getByTestId('strategy-version').filter({ hasText: 'Version 1' }).waitFor();
    expect(await page.locator('svg [data-node-id]').count()).toBe(6);
    await page.goto(strategyUrl, { waitUntil: 'networkidle' });

    // Export, then import the file as a new strategy.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export JSON")')]);
    expect(download.suggestedFilename()).toBe('spring-launch.v2.json');
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8'));
    expect(exported).toMatchObject({ name: 'Spring launch', description: 'Announce the spring release', onTaskFailure: 'fail' });
    expect(exported.items.map((i: { key: string }) => i.key)).toEqual(['research', 'analyse', 'write', 'schedule', 'mail', 'wrap-up', 'follow-up']);
    await page.goto(`${web.url}${workspacePath}/strategies/new`, { waitUntil: 'networkidle' });
    await page.setInputFiles('input[type=file]', { name: 'spring.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ ...exported, name: 'Imported launch' })) });
    // The file is read asynchronously: wait for the form to take it.
    await page.waitForFunction(() => (document.querySelector('#strategy-name') as HTMLInputElement | null)?.value === 'Imported launch');
    expect(await page.locator('[data-item-index]').count()).toBe(7);
    await page.click('button:has-text("Create strategy")');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    expect(page.url()).not.toBe(strategyUrl);
    await page.locator('h1', { hasText: 'Imported launch' }).waitFor();
    expect(await page.locator('svg [data-node-id]').count()).toBe(7);

    // An import that is not a strategy is refused with a message, the form unchanged.
    await page.goto(`${web.url}${workspacePath}/strategies/new`, { waitUntil: 'networkidle' });
    await page.setInputFiles('input[type=file]', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"name": "x", "items": 3}') });
    expect(await page.locator('[role=alert]', { hasText: 'Import failed' }).textContent()).toContain('"items" must be a list');

    // Duplicate.
    await page.goto(strategyUrl, { waitUntil: 'networkidle' });
    await page.click('button:has-text("Duplicate")');
    await page.locator('h1', { hasText: 'Copy of Spring launch' }).waitFor();
    expect(page.url()).not.toBe(strategyUrl);
    expect(await page.getByTestId('strategy-version').textContent()).toBe('Version 1');

    // The list shows all three.
    await page.goto(`${web.url}${workspacePath}/strategies`, { waitUntil: 'networkidle' });
    expect(await page.locator('[data-strategy] a.name').allTextContents()).toEqual(['Copy of Spring launch', 'Imported launch', 'Spring launch']);
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Start: the new execution's page opens, running version 2.
    await page.goto(strategyUrl, { waitUntil: 'networkidle' });
    await page.click('button:has-text("Start execution")');
    await page.waitForURL(/\/app\/executions\/exec_/);
    const executionId = page.url().split('/').pop()!;
    const [execution] = await h.database.sql<{ strategy_version: number; total_tasks: number }[]>`select strategy_version, total_tasks from executions where id = ${executionId}`;
    expect(execution).toEqual({ strategy_version: 2, total_tasks: 7 });
    expect(errors).toEqual([]);
  });

  it('shows a viewer the strategy without the controls that need more', async () => {
    const owner = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'owner2@example.com', password: 'an owner password' }) });
    const ownerToken = ((await owner.json()) as { token: string }).token;
    const call = async (path: string, body: unknown, token = ownerToken) => {
      const res = await fetch(`${web.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return (await res.json()) as Record<string, { id: string }>;
    };
    const workspaceId = (await call('/api/workspaces', { name: 'Shared' })).workspace!.id;
    const strategyId = (await call('/api/strategies', { workspaceId, name: 'Read only', items: [{ key: 'a', description: 'A', agentType: 'analysis', input: { fields: ['x'] } }] })).strategy!.id;
    const invitation = (await call(`/api/workspaces/${workspaceId}/members`, { email: 'viewer@example.com', role: 'viewer' })).invitation!.id;

    const { page, errors } = await newCheckedPage(browser);
    await page.goto(`${web.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', 'viewer@example.com');
    await page.fill('input[name=password]', 'a viewer password');
    const [signup] = await Promise.all([page.waitForResponse(`${web.url}/api/auth/signup`), page.click('button[type=submit]')]);
    const viewerToken = ((await signup.json()) as { token: string }).token;
    await fetch(`${web.url}/api/invitations/${invitation}/accept`, { method: 'POST', headers: { authorization: `Bearer ${viewerToken}` } });

    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/${strategyId}`, { waitUntil: 'networkidle' });
    expect(await page.locator('h1').textContent()).toBe('Read only');
    for (const name of ['Start execution', 'Edit', 'Duplicate', 'Archive']) expect(await page.getByRole('button', { name, exact: true }).or(page.getByRole('link', { name, exact: true })).count(), name).toBe(0);
    expect(await page.getByRole('button', { name: 'Export JSON' }).count()).toBe(1);
    const form = await page.goto(`${web.url}/app/w/${workspaceId}/strategies/new`);
    expect(form?.status()).toBe(403);
    // A strategy under a workspace it is not in is not found.
    const other = await page.goto(`${web.url}/app/w/${workspaceId}/strategies/strat_nope`);
    expect(other?.status()).toBe(404);
    expect(errors.filter((e) => !e.includes('403') && !e.includes('404'))).toEqual([]);
  });

  it('draws a 300-item graph that stays usable, and fits a 390 px screen', async () => {
    const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'big@example.com', password: 'a big strategy password' }) });
    const token = ((await signup.json()) as { token: string }).token;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${web.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      expect(res.status, path).toBeLessThan(300);
      return (await res.json()) as Record<string, { id: string }>;
    };
    const workspaceId = (await post('/api/workspaces', { name: 'Big' })).workspace!.id;
    // Ten lanes of thirty steps, each step after the one before and the same step of the lane before.
    const items = Array.from({ length: 300 }, (_, i) => {
      const lane = Math.floor(i / 30);
      const step = i % 30;
      const dependsOn = [...(step > 0 ? [`t${i - 1}`] : []), ...(lane > 0 ? [`t${i - 30}`] : [])];
      return { key: `t${i}`, description: `Lane ${lane} step ${step}`, agentType: 'analysis', input: { fields: ['x'] }, dependsOn, l1: `Lane ${lane}` };
    });
    const strategyId = (await post('/api/strategies', { workspaceId, name: 'Three hundred', items })).strategy!.id;

    const { page, errors } = await newCheckedPage(browser);
    await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', 'big@example.com');
    await page.fill('input[name=password]', 'a big strategy password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app`);
    const started = Date.now();
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/${strategyId}`, { waitUntil: 'networkidle' });
    await page.locator('svg [data-node-id]').nth(299).waitFor({ state: 'attached' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await page.locator('svg path.edge').count()).toBe(29 * 10 + 30 * 9);
    // One tab stop; the arrows walk the nodes in reading order and the box scrolls to follow.
    expect(await page.locator('svg [data-node-id][tabindex="0"]').count()).toBe(1);
    await page.locator('[data-node-id="t0"]').focus();
    await page.keyboard.press('End');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-node-id'))).toBe('t299');
    const scroller = page.locator('.dag .scroller');
    expect(await scroller.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    // Zoom out to see more of it.
    const before = await page.locator('.dag svg').evaluate((el) => el.getBoundingClientRect().width);
    await page.getByRole('button', { name: 'Zoom out' }).click();
    expect(await page.locator('.dag svg').evaluate((el) => el.getBoundingClientRect().width)).toBeLessThan(before);

    // 390 px wide: nothing makes the page scroll sideways, on the strategy page or in the form.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of [`/app/w/${workspaceId}/strategies/${strategyId}`, `/app/w/${workspaceId}/strategies/${strategyId}/edit`, `/app/w/${workspaceId}/strategies`]) {
      const t = Date.now();
      await page.goto(`${web.url}${path}`, { waitUntil: 'networkidle' });
      // The form folds a large strategy's items: it opens quickly however many there are.
      expect(Date.now() - t, path).toBeLessThan(5000);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(390);
    }
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/${strategyId}`, { waitUntil: 'networkidle' });
    await saveScreenshot(page, 'strategy-page-390', { fullPage: false });

    // Archive, after confirming: gone from the list, still readable by its link, no longer startable.
    await page.getByRole('button', { name: 'Archive', exact: true }).click();
    const dialog = page.getByRole('alertdialog');
    expect(await dialog.textContent()).toContain('Archive “Three hundred”?');
    await dialog.getByRole('button', { name: 'Archive', exact: true }).click();
    await page.waitForURL(`${web.url}/app/w/${workspaceId}/strategies`);
    await page.locator('main', { hasText: 'No strategies yet.' }).waitFor();
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/${strategyId}`, { waitUntil: 'networkidle' });
    expect(await page.locator('main').textContent()).toContain('This strategy was archived');
    expect(await page.getByRole('button', { name: 'Start execution' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
