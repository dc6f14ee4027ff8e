import { runDueSchedules } from '@strata/engine';
import { createEngineHarness, type EngineHarness, until } from '@strata/engine/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, loggedInPage as loggedIn } from './browser.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Schedules in the dashboard, in a real browser against the built app and a real database: an
 * operator creates schedules through the form (refusals shown beside cron, time zone and the
 * strategy's own parameter), switches one off and on, sees a one-off's tick link to the
 * execution it started, deletes with confirmation; the strategy page lists its schedules; a
 * viewer sees them but cannot change them. Ticks are driven by hand (runDueSchedules).
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;
let strategyId: string;

const PASSWORD = 'a schedules password';
const inputSchema = { type: 'object', properties: { audience: { type: 'string', minLength: 2, description: 'Who it is for' } }, required: ['audience'], additionalProperties: false };

const api = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => apiCall(web.url, path, init);

const loggedInPage = (email: string) => loggedIn(browser, web.url, email, PASSWORD);

const schedulesSection = (page: Page) => page.locator('section[aria-labelledby="schedules-title"]');
const form = (page: Page) => page.locator('form.schedule-form');
const rows = (page: Page) => schedulesSection(page).locator('tr[data-schedule]');
const fieldError = (scope: Locator, text: string) => scope.locator('.field-error', { hasText: text });
const count = async (sql: string) => (await h.database.sql.unsafe<{ n: number }[]>(sql))[0]?.n;

beforeAll(async () => {
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url });
  browser = await launchBrowser();
  const owner = await api('/api/auth/signup', { body: { email: 'otto@example.com', password: PASSWORD, name: 'Otto Operator' } });
  const token = owner.body.token as string;
  workspaceId = (await api('/api/workspaces', { token, body: { name: 'Newsroom' } })).body.workspace.id;
  const strategy = await api('/api/strategies', {
    token,
    body: { workspaceId, name: 'Weekly digest', inputSchema, items: [{ key: 'write', description: 'Write the digest', agentType: 'content', input: { prompt: 'Digest for {{input.audience}}' } }] },
  });
  expect(strategy.status, JSON.stringify(strategy.body)).toBe(201);
  strategyId = strategy.body.strategy.id;
  const viewer = await api('/api/auth/signup', { body: { email: 'vera@example.com', password: PASSWORD } });
  const invited = await api(`/api/workspaces/${workspaceId}/members`, { token, body: { email: 'vera@example.com', role: 'viewer' } });
  expect((await api(`/api/invitations/${invited.body.invitation.id}/accept`, { token: viewer.body.token, method: 'POST', body: {} })).status).toBe(200);
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('schedules in the dashboard', () => {
  it('creates, refuses, switches, shows ticks of and deletes schedules; viewers only look', async () => {
    const { page, errors } = await loggedInPage('otto@example.com');
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    expect(await schedulesSection(page).textContent()).toContain('No schedules yet.');
    // The strategy's parameters are a form drawn from its inputSchema.
    const audience = form(page).getByLabel('Audience *', { exact: true });
    await audience.waitFor();
    expect(await form(page).getByLabel('Strategy', { exact: true }).inputValue()).toBe(strategyId);

    // Refusals from the server, each beside its field; nothing is created.
    await form(page).getByLabel('Cron expression', { exact: true }).fill('61 * * * *');
    await form(page).getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
    await audience.fill('press');
    await form(page).getByRole('button', { name: 'Create schedule' }).click();
    await fieldError(form(page), 'Invalid value for minute: 61').waitFor();
    expect(await form(page).getByLabel('Cron expression', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    await form(page).getByLabel('Cron expression', { exact: true }).fill('0 9 * * 1-5');
    await form(page).getByLabel('Time zone', { exact: true }).fill('Mars/Base_One');
    await form(page).getByRole('button', { name: 'Create schedule' }).click();
    await fieldError(form(page), '"Mars/Base_One" is not a known IANA time zone').waitFor();
    expect(await form(page).getByLabel('Time zone', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    await form(page).getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
    await audience.fill('x');
    await form(page).getByRole('button', { name: 'Create schedule' }).click();
    await fieldError(form(page), 'must NOT have fewer than 2 characters').waitFor();
    expect(await count('select count(*)::int as n from schedules')).toBe(0);

    // A weekday cron in Berlin.
    await audience.fill('press');
    await form(page).getByRole('button', { name: 'Create schedule' }).click();
    await rows(page).first().waitFor();
    const [cronRow] = await h.database.sql<{ id: string; next_run_at: string; input: unknown }[]>`select id, next_run_at, input from schedules`;
    expect(cronRow?.input).toEqual({ audience: 'press' });
    const cronTr = rows(page).filter({ hasText: '0 9 * * 1-5' });
    expect(await cronTr.locator('td').allInnerTexts()).toEqual(expect.arrayContaining(['Weekly digest', '0 9 * * 1-5', 'Europe/Berlin']));
    expect(await cronTr.getByTestId('next-run').locator('time').getAttribute('datetime')).toBe(new Date(cronRow!.next_run_at).toISOString());

    // A one-off, read in the chosen zone.
    await form(page).getByLabel('Once', { exact: true }).check();
    await form(page).getByLabel('Date and time (in the time zone)', { exact: true }).fill('2031-06-01T09:30');
    await form(page).getByLabel('Time zone', { exact: true }).fill('America/New_York');
    await form(page).getByRole('button', { name: 'Create schedule' }).click();
    const onceTr = rows(page).filter({ hasText: 'once, 1 Jun 2031, 09:30' });
    await onceTr.waitFor();
    const [oneOff] = await h.database.sql<{ id: string; run_at: string }[]>`select id, run_at from schedules where cron is null`;
    expect(new Date(oneOff!.run_at).toISOString()).toBe('2031-06-01T13:30:00.000Z');
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Off: no next run. On again: the next run is back.
    await cronTr.getByRole('switch').uncheck();
    await until('the schedule to be off', async () => (await cronTr.getByTestId('next-run').textContent())?.trim() === '—');
    expect((await h.database.sql`select enabled, next_run_at from schedules where id = ${cronRow!.id}`)[0]).toEqual({ enabled: false, next_run_at: null });
    await cronTr.getByRole('switch').check();
    await cronTr.getByTestId('next-run').locator('time').waitFor();

    // The one-off's time comes (forced here): its last run links to the execution it started, and its ticks list it.
    await h.database.sql`update schedules set next_run_at = now() - interval '1 second' where id = ${oneOff!.id}`;
    const [outcome] = (await runDueSchedules(h.ctx)).filter((o) => o.scheduleId === oneOff!.id);
    expect(outcome?.status).toBe('started');
    const executionId = (outcome as { executionId: string }).executionId;
    await page.reload({ waitUntil: 'networkidle' });
    expect(await onceTr.getByTestId('last-run').locator('a').getAttribute('href')).toBe(`/app/executions/${executionId}`);
    expect((await onceTr.getByTestId('next-run').textContent())?.trim()).toBe('—');
    await onceTr.getByRole('button', { name: 'Ticks' }).click();
    const tick = schedulesSection(page).locator('[data-testid="schedule-runs"] tr[data-run-status="started"]');
    await tick.waitFor();
    expect(await tick.locator('a').getAttribute('href')).toBe(`/app/executions/${executionId}`);
    await saveScreenshot(page, 'schedules');

    // Delete asks first; keeping it changes nothing.
    await onceTr.getByRole('button', { name: 'Delete' }).click();
    await schedulesSection(page).getByRole('button', { name: 'Keep it' }).click();
    expect(await rows(page).count()).toBe(2);
    await onceTr.getByRole('button', { name: 'Delete' }).click();
    await schedulesSection(page).getByRole('button', { name: 'Delete schedule' }).click();
    await until('the row to go', async () => (await rows(page).count()) === 1);
    expect(await count('select count(*)::int as n from schedules')).toBe(1);

    // The strategy's page lists its schedules.
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/${strategyId}`, { waitUntil: 'networkidle' });
    expect(await rows(page).count()).toBe(1);
    expect(await rows(page).first().textContent()).toContain('0 9 * * 1-5');
    expect(errors).toEqual([]);

    // A viewer sees them, and cannot change them.
    const viewer = await loggedInPage('vera@example.com');
    await viewer.page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    expect(await rows(viewer.page).count()).toBe(1);
    expect(await rows(viewer.page).getByRole('switch').isDisabled()).toBe(true);
    expect(await rows(viewer.page).getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await form(viewer.page).count()).toBe(0);
    expect(viewer.errors).toEqual([]);
  });
});
