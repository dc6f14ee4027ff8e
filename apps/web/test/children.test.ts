import { strategyAgent } from '@strata/agents';
import { agentConfig } from '@strata/agents/testing';
import { createEngineHarness, type EngineHarness, keyedGates } from '@strata/engine/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, loggedInPage } from './browser.ts';
import { callJson } from './json-api.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Strategies within strategies in the dashboard, in a real browser against the built app, a real
 * database and the real `strategy` agent: the form offers the agent with a picker of the
 * workspace's strategies (a refused choice shown beside it); the parent's task row and drawer link
 * to the child execution and follow its status live; the child's header links back to its parent
 * and task. axe finds nothing serious on the form or the execution.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let token = '';
let workspaceId: string;
const gates = keyedGates();

const PASSWORD = 'a nesting password';

/** The API as the test's user; fails the test on an error answer. */
const api = <T>(path: string, body?: unknown) => callJson<T>(web.url, token, path, body);

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('strategy', strategyAgent({ config: agentConfig(), db: h.database.db }));
  // The child's task waits for the test (by its input's `gate`), so the parent is seen waiting.
  h.registry.register('analysis', async ({ task }) => {
    if (typeof task.input.gate === 'string') await gates.gate(task.input.gate).promise;
    return { rows: 3 };
  });
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url, RATE_LIMIT_START_PER_MIN: '1000' });
  browser = await launchBrowser();
  token = (await api<{ token: string }>('/api/auth/signup', { email: 'nina@example.com', password: PASSWORD, name: 'Nina' })).token;
  workspaceId = (await api<{ workspace: { id: string } }>('/api/workspaces', { name: 'Reports' })).workspace.id;
});
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('child executions in the dashboard', () => {
  it('picks the strategy to run in the form, links parent and child both ways and follows the child live', async () => {
    const child = (await api<{ strategy: { id: string } }>('/api/strategies', {
      workspaceId,
      name: 'Weekly numbers',
      items: [{ key: 'count', description: 'Count the week', agentType: 'analysis', input: { fields: ['rows'], gate: 'numbers' } }],
    })).strategy.id;
    const { page, errors } = await loggedInPage(browser, web.url, 'nina@example.com', PASSWORD);

    // The form: the strategy agent, its strategy picked from the workspace's, not typed.
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/new`, { waitUntil: 'networkidle' });
    await page.locator('#strategy-name').fill('Monthly report');
    await page.getByRole('button', { name: 'Add item', exact: true }).click();
    const item = page.locator('[data-item-index="0"]');
    await item.getByLabel('Agent', { exact: true }).selectOption('strategy');
    await item.getByLabel('Key', { exact: true }).fill('numbers');
    await item.getByLabel('Item description', { exact: true }).fill('Run the weekly numbers');
    const picker = item.getByLabel('Strategy to run', { exact: true });
    expect(await picker.locator('option').allTextContents()).toEqual(['Choose a strategy', 'strat_… (not a strategy of this workspace)', 'Weekly numbers']);
    // The agent's example names no real strategy: the server's refusal is shown beside the picker.
    await page.click('button[type=submit]');
    const refused = item.locator('p.field-error', { hasText: 'no strategy strat_… in this workspace' });
    await refused.waitFor();
    expect(await picker.getAttribute('aria-invalid')).toBe('true');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await picker.selectOption({ label: 'Weekly numbers' });
    await page.click('button[type=submit]');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    const parent = new URL(page.url()).pathname.split('/').pop()!;
    const saved = await api<{ strategy: { items: { input: unknown }[] } }>(`/api/strategies/${parent}`);
    expect(saved.strategy.items[0]?.input).toEqual({ strategyId: child });

    // The parent runs: its task row links to the child and shows the child's status, live.
    const { executionId } = await api<{ executionId: string }>('/api/executions/start', { strategyId: parent, workspaceId });
    await page.goto(`${web.url}/app/executions/${executionId}`, { waitUntil: 'networkidle' });
    const row = page.locator('[data-task="numbers"]');
    const link = row.locator('a[data-child-execution]');
    await row.locator('a[data-child-status="running"]').waitFor();
    const childId = (await link.getAttribute('data-child-execution'))!;
    expect(childId).toMatch(/^exec_/);
    expect(await link.textContent()).toBe('Child run: running');
    expect(await row.locator('[data-status]').first().getAttribute('data-status')).toBe('waiting');
    expect(await row.textContent()).toContain('until its child ends');

    // Its drawer names the child too, with the child's progress.
    await page.click('[data-open-task="numbers"]');
    const drawerChild = page.locator(`dialog[data-drawer="numbers"] [data-drawer-child="${childId}"]`);
    await drawerChild.waitFor();
    expect(await drawerChild.textContent()).toContain('Weekly numbers · 0 of 1 tasks done');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'child-execution-drawer', { fullPage: false });
    await page.keyboard.press('Escape');

    // The child ends: the row follows without a reload, and the parent completes.
    gates.gate('numbers').resolve();
    await row.locator('a[data-child-status="completed"]').waitFor();
    await page.locator('[data-execution-status="completed"]').waitFor();

    // The child's header links back to its parent and the task that started it.
    await link.click();
    await page.waitForURL(`${web.url}/app/executions/${childId}`);
    const origin = page.getByTestId('execution-origin');
    await origin.locator('[data-trigger="parent"]').waitFor();
    expect((await origin.locator('[data-trigger="parent"]').textContent())?.replace(/\s+/g, ' ').trim()).toBe(`Child of ${executionId} / task numbers`);
    await origin.locator(`a[data-parent-execution="${executionId}"]`).click();
    await page.waitForURL(`${web.url}/app/executions/${executionId}`);

    // The workspace's list marks the child.
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    expect(await page.locator(`[data-trigger="parent"][title="Child of ${executionId}"]`).count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
