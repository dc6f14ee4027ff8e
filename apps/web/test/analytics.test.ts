import { agentConfig } from '@strata/agents/testing';
import { createEngineHarness, type EngineHarness, finishedTask, insertHistory } from '@strata/engine/testing';
import { DEMO_EMAIL, seedDemo } from '@strata/launcher';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, loggedInPage } from './browser.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Issue 15, the analytics page: the demo workspace with a known history (written into the tables
 * with timestamps relative to today, UTC), its charts drawn and its tables holding the numbers
 * worked out by hand below, and the range changed by a preset and by the form.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;

const PASSWORD = 'a demo password';
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const day = (offset: number) => new Date(today - offset * DAY).toISOString().slice(0, 10);
/** An instant `hours` into the UTC day `offset` days ago. */
const at = (offset: number, hours: number) => new Date(today - offset * DAY + hours * 3_600_000).toISOString();

beforeAll(async () => {
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url });
  const { hostname, port } = new URL(web.url);
  expect(await seedDemo(h.database.url, PASSWORD, { ...agentConfig(), HOST: hostname, PORT: Number(port), STRATA_DEMO: true })).toEqual({ created: true });
  const token = (await apiCall(web.url, '/api/auth/login', { body: { email: DEMO_EMAIL, password: PASSWORD } })).body.token;
  workspaceId = (await apiCall(web.url, '/api/me', { token })).body.workspaces[0].id;
  await insertHistory(h.database.db, workspaceId, [
    // Yesterday: 2 completed, 1 failed.
    {
      status: 'completed',
      completedAt: at(1, 1),
      healthScore: 100,
      tasks: [finishedTask('email', 'completed', at(1, 0.5), 2000), finishedTask('email', 'failed', at(1, 0.75), 4000, 'SMTP 421 for usr_ab12 after 3 tries')],
    },
    { status: 'completed', completedAt: at(1, 2), healthScore: 90 },
    { status: 'failed', completedAt: at(1, 3), healthScore: 40 },
    // Three days ago: 1 cancelled.
    { status: 'cancelled', completedAt: at(3, 12), healthScore: 70 },
    // Forty days ago: outside the default 30 days, inside the last 90.
    { status: 'completed', completedAt: at(40, 12), healthScore: 50, tasks: [finishedTask('research', 'completed', at(40, 11), 1000)] },
  ]);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

const stat = (page: Page, label: string) => page.locator(`[data-stat="${label}"]`).textContent();
const cells = (page: Page, selector: string) => page.locator(`${selector} td`).allTextContents();

async function chartsDrawn(page: Page, names: string[]) {
  for (const name of names) {
    const canvas = page.locator(`canvas[data-chart="${name}"][data-rendered="true"]`);
    await canvas.waitFor({ timeout: 30_000 });
    const box = await canvas.boundingBox();
    expect(box?.width, name).toBeGreaterThan(100);
    expect(box?.height, name).toBeGreaterThan(100);
  }
}

describe('the analytics page', () => {
  it('opens from the workspace page on the last 30 days, draws the charts, and its tables hold the numbers', async () => {
    const { page, errors } = await loggedInPage(browser, web.url, DEMO_EMAIL, PASSWORD);
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    await page.click('[data-analytics-link]');
    await page.waitForURL(`${web.url}/app/w/${workspaceId}/analytics`);
    await chartsDrawn(page, ['executions', 'health', 'durations']);

    expect(await page.locator('[data-range-shown]').textContent()).toBe(`${day(29)} to ${day(0)} · 30 days (UTC)`);
    expect(await page.locator('[data-preset="30"]').getAttribute('aria-current')).toBe('true');
    expect(await page.locator('input[name=from]').inputValue()).toBe(day(29));
    // 4 finished: 2 of 4 completed; health (100 + 90 + 40 + 70) / 4.
    expect(await stat(page, 'Finished executions')).toBe('4');
    expect(await stat(page, 'Success rate')).toBe('50.0%');
    expect(await stat(page, 'Average final health')).toBe('75.0');
    expect(await stat(page, 'Failed tasks')).toBe('1');
    expect(await page.getByText('completed / (completed + failed + cancelled)').count()).toBeGreaterThan(0);

    // The tables: one row per day, yesterday's and three days ago's with their counts.
    expect(await page.locator('[data-table="executions"] tbody tr').count()).toBe(30);
    expect(await cells(page, `[data-table="executions"] tr[data-day="${day(1)}"]`)).toEqual(['2', '1', '0', '66.7%']);
    expect(await cells(page, `[data-table="executions"] tr[data-day="${day(3)}"]`)).toEqual(['0', '0', '1', '0%']);
    expect(await cells(page, '[data-table="executions"] tr[data-day="total"]')).toEqual(['2', '1', '1', '50.0%']);
    // Health of yesterday: (100 + 90 + 40) / 3.
    expect(await cells(page, `[data-table="health"] tr[data-day="${day(1)}"]`)).toEqual(['76.7', '3']);
    expect(await cells(page, `[data-table="health"] tr[data-day="${day(2)}"]`)).toEqual(['—', '0']);
    // email [2000, 4000]: mean 3000, p95 2000 + 0.95 × 2000 = 3900.
    expect(await cells(page, '[data-table="durations"] tr[data-agent="email"]')).toEqual(['2', '1', '1', '3.00 s', '3.90 s']);
    expect(await page.locator('[data-table="durations"] tbody tr').count()).toBe(1);
    expect(await cells(page, '[data-table="errors"] tr[data-pattern="SMTP <n> for <id> after <n> tries"]')).toEqual(['1', 'email', expect.any(String)]);
    expect(await page.locator('[data-table="queues"] tbody tr').count()).toBe(8);
    expect(await cells(page, '[data-table="queues"] tr[data-queue="email"]')).toEqual(['0', '0', '0', '—', '0', '0', '0', '0']);
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'analytics');
    expect(errors).toEqual([]);
  });

  it('changes the range by a preset and by the form, in the URL; a refused range is shown beside the form', async () => {
    const { page, errors } = await loggedInPage(browser, web.url, DEMO_EMAIL, PASSWORD);
    await page.goto(`${web.url}/app/w/${workspaceId}/analytics`, { waitUntil: 'networkidle' });
    await chartsDrawn(page, ['executions']);

    await page.click('[data-preset="90"]');
    await page.waitForURL(`${web.url}/app/w/${workspaceId}/analytics?from=${day(89)}&to=${day(0)}`);
    await page.locator('[data-range-shown]').filter({ hasText: '90 days' }).waitFor();
    await chartsDrawn(page, ['executions', 'health', 'durations']);
    expect(await stat(page, 'Finished executions')).toBe('5');
    expect(await stat(page, 'Success rate')).toBe('60.0%');
    expect(await page.locator('[data-table="executions"] tbody tr').count()).toBe(90);
    expect(await cells(page, '[data-table="durations"] tr[data-agent="research"]')).toEqual(['1', '1', '0', '1.00 s', '1.00 s']);

    // One day by the form: yesterday alone.
    await page.fill('input[name=from]', day(1));
    await page.fill('input[name=to]', day(1));
    await page.click('[data-range-form] button[type=submit]');
    await page.waitForURL(`${web.url}/app/w/${workspaceId}/analytics?from=${day(1)}&to=${day(1)}`);
    await page.locator('[data-range-shown]').filter({ hasText: '1 day (UTC)' }).waitFor();
    expect(await stat(page, 'Finished executions')).toBe('3');
    expect(await cells(page, '[data-table="executions"] tr[data-day="total"]')).toEqual(['2', '1', '0', '66.7%']);
    await chartsDrawn(page, ['executions', 'health', 'durations']);

    // A day with nothing: zeros, no duration chart, no errors.
    await page.goto(`${web.url}/app/w/${workspaceId}/analytics?from=${day(2)}&to=${day(2)}`, { waitUntil: 'networkidle' });
    expect(await stat(page, 'Finished executions')).toBe('0');
    expect(await stat(page, 'Success rate')).toBe('—');
    expect(await page.locator('[data-empty="durations"]').count()).toBe(1);
    expect(await page.locator('[data-empty="errors"]').count()).toBe(1);

    // From after to: the rule's message, the field marked, no numbers.
    await page.fill('input[name=from]', day(0));
    await page.fill('input[name=to]', day(1));
    await page.click('[data-range-form] button[type=submit]');
    await page.waitForURL(`${web.url}/app/w/${workspaceId}/analytics?from=${day(0)}&to=${day(1)}`);
    await page.getByRole('alert').filter({ hasText: 'from: must not be after to' }).waitFor();
    expect(await page.locator('input[name=from]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-stat]').count()).toBe(0);
    expect(await page.locator('canvas').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('is refused for a workspace the visitor is not in', async () => {
    const other = await h.workspace('Not yours');
    const { page } = await loggedInPage(browser, web.url, DEMO_EMAIL, PASSWORD);
    const response = await page.goto(`${web.url}/app/w/${other}/analytics`);
    expect(response?.status()).toBe(404);
  });
});
