import { readFile } from 'node:fs/promises';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { callJson } from './json-api.ts';
import { startWeb, type RunningWeb } from './server.ts';

let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let token: string;
let workspaceId: string;

const EMAIL = 'dash@example.com';
const PASSWORD = 'a dashboard password';
const ICS = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Kickoff\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';

const api = <T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> => callJson<T>(web.url, token, path, body);

async function createStrategy(name: string, items: unknown[]): Promise<string> {
  return (await api<{ strategy: { id: string } }>('/api/strategies', { workspaceId, name, items })).strategy.id;
}

/** A page that fails the test on any uncaught script error or console error. */
const newPage = () => newCheckedPage(browser);

async function logIn(page: Page) {
  // networkidle: the form is hydrated before it is used (a click before hydration submits natively).
  await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
  await page.fill('input[name=email]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${web.url}/app`);
}

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('analysis', () => ({ rows: 1 }));
  // Slow enough to pause mid-run.
  h.registry.register('content', async ({ signal }) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    signal.throwIfAborted();
    return { written: true };
  });
  h.registry.register('scheduling', () => ({ ics: ICS, filename: 'kickoff.ics', events: [] }));
  h.registry.register('coordination', ({ task, wait }) => {
    if (!task.resumedFromWait) wait(new Date(Date.now() + 10 * 60_000));
    return { waited: true };
  });
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('the dashboard in a real browser', () => {
  it('signs up, runs a strategy and follows it live to completed', async () => {
    const { page, errors } = await newPage();

    // The dashboard asks for a login first; the landing page links to it.
    await page.goto(web.url);
    await page.click('a[href="/app"]');
    await page.waitForURL(`${web.url}/login`);
    await page.click('a[href="/signup"]');
    await page.waitForURL(`${web.url}/signup`);

    // The API's error shows beside the form.
    await page.fill('input[name=email]', EMAIL);
    await page.fill('input[name=password]', 'short');
    await page.click('button[type=submit]');
    expect(await page.locator('form [role=alert]').textContent()).toContain('password: must be at least 8 characters');

    await page.fill('input[name=name]', 'Dana Board');
    await page.fill('input[name=password]', PASSWORD);
    const [signup] = await Promise.all([page.waitForResponse(`${web.url}/api/auth/signup`), page.click('button[type=submit]')]);
    token = ((await signup.json()) as { token: string }).token;
    expect(token).toBeTruthy();
    await page.waitForURL(`${web.url}/app`);
    expect(await page.locator('header').textContent()).toContain('Dana Board');
    expect(await page.locator('main').textContent()).toContain('not a member of any workspace');

    // A workspace and a strategy made through the REST API with the session token.
    workspaceId = (await api<{ workspace: { id: string } }>('/api/workspaces', { name: 'Growth team' })).workspace.id;
    const strategyId = await createStrategy('Quarterly review', [
      { key: 'collect', description: 'Collect the numbers', agentType: 'analysis', input: { fields: ['rows'] } },
      { key: 'compare', description: 'Compare with last quarter', agentType: 'analysis', dependsOn: ['collect'], input: { fields: ['rows'] } },
      { key: 'summarise', description: 'Summarise the findings', agentType: 'analysis', dependsOn: ['compare'], input: { fields: ['rows'] } },
    ]);

    await page.reload();
    await page.click(`a[href="/app/w/${workspaceId}"]`);
    await page.waitForURL(`${web.url}/app/w/${workspaceId}`);
    expect(await page.locator('h1').textContent()).toBe('Growth team');
    const strategy = page.locator(`[data-strategy="${strategyId}"]`);
    expect(await strategy.textContent()).toContain('Quarterly review');
    expect(await page.locator('main').textContent()).toContain('No mail yet');

    // Run: the page moves to the live execution view, which follows the run to its end.
    await strategy.locator('button', { hasText: 'Run' }).click();
    await page.waitForURL(/\/app\/executions\/exec_/);
    const executionId = page.url().split('/').pop()!;
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-task-status="completed"]').nth(2).waitFor();
    expect(await page.locator('[data-task]').count()).toBe(3);
    expect(await page.locator('[data-task="collect"]').textContent()).toContain('Collect the numbers');
    expect(await page.locator('[data-task="collect"]').textContent()).toContain('analysis');
    expect(await page.locator('[data-stat="Health"]').textContent()).toBe('100');
    expect(await page.locator('[data-progress-percent]').textContent()).toBe('100%');
    expect(await page.locator('[data-count="failed"]').textContent()).toBe('0');
    expect(await page.locator('[data-connection]').textContent()).toBe('finished');
    // Tasks read in dependency order; a finished run has no controls.
    expect(await page.locator('[data-task]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task')))).toEqual(['collect', 'compare', 'summarise']);
    expect(await page.locator('button[data-action]').count()).toBe(0);

    // A task's JSON result expands.
    await page.locator('[data-open-task="summarise"]').click();
    expect(JSON.parse((await page.locator('[data-drawer="summarise"] pre[data-result="summarise"]').textContent()) ?? '')).toEqual({ rows: 1 });
    await page.keyboard.press('Escape');

    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });

    // Back on the workspace page, the run is listed as completed, and the mail it kept is in the outbox.
    await h.database.sql`
      insert into email_outbox (id, execution_id, task_id, "from", "to", subject, text)
      values ('mail_1', ${executionId}, null, 'Strata <strata@localhost>', ${['board@example.com']}, 'Quarterly numbers', 'Rows: 1')`;
    await page.click(`a[href="/app/w/${workspaceId}"]`);
    const row = page.locator(`tr[data-execution="${executionId}"]`);
    await row.locator('[data-status="completed"]').waitFor();
    expect(await row.textContent()).toContain('3/3');
    const mail = page.locator('[data-message="mail_1"]');
    expect(await mail.textContent()).toContain('Quarterly numbers');
    await mail.locator('summary').first().click();
    expect(await mail.locator('pre').textContent()).toBe('Rows: 1');
    expect(errors).toEqual([]);
  });

  it('pauses, resumes and cancels a running execution', async () => {
    const { page, errors } = await newPage();
    await logIn(page);
    const strategyId = await createStrategy(
      'Slow content',
      Array.from({ length: 4 }, (_, i) => ({ key: `post${i}`, description: `Post ${i}`, agentType: 'content', dependsOn: i ? [`post${i - 1}`] : [], input: { prompt: `Post ${i}` } })),
    );
    const started = await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId });
    await page.goto(`${web.url}/app/executions/${started.executionId}`);
    await page.locator('[data-execution-status="running"]').waitFor();
    await page.locator('[data-connection="live"]').waitFor();

    await page.click('button[data-action=pause]');
    await page.locator('[data-execution-status="paused"]').waitFor();
    expect(await page.locator('button[data-action=resume]').isEnabled()).toBe(true);

    await page.click('button[data-action=resume]');
    await page.locator('[data-execution-status="running"]').waitFor();

    await page.click('button[data-action=cancel]');
    await page.click('[data-confirm-cancel]');
    await page.locator('[data-execution-status="cancelled"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-task-status="skipped"]').first().waitFor();
    expect(await page.locator('[role=alert]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("shows a waiting task's wake-up time and offers a scheduling task's .ics as a download", async () => {
    const { page, errors } = await newPage();
    await logIn(page);
    const strategyId = await createStrategy('Plan the kickoff', [
      { key: 'invite', description: 'Schedule the kickoff', agentType: 'scheduling', input: { title: 'Kickoff', start: '2030-01-07T10:00:00Z' } },
      { key: 'hold', description: 'Wait for replies', agentType: 'coordination', input: { waitSeconds: 600 } },
    ]);
    const started = await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId });
    await page.goto(`${web.url}/app/executions/${started.executionId}`);

    const hold = page.locator('[data-task="hold"]');
    await hold.locator('[data-status="waiting"]').waitFor();
    expect(await hold.textContent()).toMatch(/wakes/);

    const invite = page.locator('[data-task="invite"]');
    await invite.locator('[data-status="completed"]').waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), invite.locator('button', { hasText: 'Download .ics' }).click()]);
    expect(download.suggestedFilename()).toBe('kickoff.ics');
    expect(await readFile((await download.path())!, 'utf8')).toBe(ICS);

    // Cancel cuts the wait short.
    await page.click('button[data-action=cancel]');
    await page.click('[data-confirm-cancel]');
    await page.locator('[data-execution-status="cancelled"]').waitFor({ timeout: 10_000 });
    await hold.locator('[data-status="skipped"]').waitFor();
    expect(errors).toEqual([]);
  });

  it('logs out, and the dashboard then asks for a login', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', EMAIL);
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    expect(await page.locator('form [role=alert]').textContent()).toBe('Invalid email or password');

    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app`);

    // A workspace that is not theirs is an error page with the API's message, not a crash.
    const missing = await page.goto(`${web.url}/app/w/ws_notmine000000000`);
    expect(missing?.status()).toBeGreaterThanOrEqual(400);
    expect(missing?.status()).toBeLessThan(500);
    expect(await page.locator('h1').textContent()).toBeTruthy();
    await page.click('a:has-text("Back to your workspaces")');
    await page.waitForURL(`${web.url}/app`);

    await page.click('button:has-text("Log out")');
    await page.waitForURL(`${web.url}/login`);
    await page.goto(`${web.url}/app/w/${workspaceId}`);
    expect(page.url()).toBe(`${web.url}/login?next=${encodeURIComponent(`/app/w/${workspaceId}`)}`);

    // Logging in again returns to the page that asked.
    await page.fill('input[name=email]', EMAIL);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app/w/${workspaceId}`);
    expect(errors).toEqual([]);
  });
});
