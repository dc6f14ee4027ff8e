import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { registerBuiltInAgents } from '@strata/agents';
import { agentConfig } from '@strata/agents/testing';
import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { DEMO_EMAIL, seedDemo } from '@strata/launcher';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yViolations } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * The demo workspace as `pnpm start` seeds it, run by the real agents in this process with no
 * way out to the network, then its workspace page and settings in a real browser.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let token: string;
let workspaceId: string;

const PASSWORD = 'a demo password';
/** Every TCP connection this process (the worker and its agents) opened: address and port. */
const connections: string[] = [];
const onSocket = ({ socket }: { socket: Socket }) => socket.once('connect', () => connections.push(`${socket.remoteAddress}:${socket.remotePort}`));

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
async function api(path: string, init: { method?: string; body?: unknown; bearer?: string } = {}): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${web.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${init.bearer ?? token}` },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function loggedInPage(): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await newCheckedPage(browser);
  await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
  await page.fill('input[name=email]', DEMO_EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${web.url}/app`);
  await page.click(`a[href="/app/w/${workspaceId}"]`);
  await page.waitForURL(`${web.url}/app/w/${workspaceId}`);
  return { page, errors };
}

beforeAll(async () => {
  diagnostics.subscribe('net.client.socket', onSocket as (message: unknown) => void);
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url });
  const { hostname, port } = new URL(web.url);
  const config = { ...agentConfig(), HOST: hostname, PORT: Number(port), STRATA_DEMO: true };
  expect(await seedDemo(h.database.url, PASSWORD, config)).toEqual({ created: true });
  registerBuiltInAgents(h.registry, { config, db: h.database.db });
  await h.startWorker();
  browser = await launchBrowser();
  token = (await api('/api/auth/login', { body: { email: DEMO_EMAIL, password: PASSWORD }, bearer: '' })).body.token;
  workspaceId = (await api('/api/me')).body.workspaces[0].id;
}, 120_000);
afterAll(async () => {
  diagnostics.unsubscribe('net.client.socket', onSocket as (message: unknown) => void);
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('the demo workspace', () => {
  it('runs its strategies to completion with all six agents and no connection off this machine', async () => {
    const strategies = (await api(`/api/strategies?workspaceId=${workspaceId}`)).body.strategies as { id: string; name: string }[];
    expect(strategies.map((s) => s.name).sort()).toEqual(['Announce release 2.4', 'Launch a newsletter', 'Plan the weekly digest']);
    const started = [];
    for (const strategy of strategies) {
      const res = await api('/api/executions/start', { body: { strategyId: strategy.id, workspaceId } });
      expect(res.status).toBe(200);
      started.push(res.body.executionId as string);
    }
    const done = await Promise.all(started.map((id) => h.waitForStatus(id, ['completed', 'failed'], 60_000)));
    const tasks = done.flatMap((status) => status.tasks);
    expect(done.map((s) => s.execution.status)).toEqual(['completed', 'completed', 'completed']);
    expect(new Set(tasks.map((t) => t.agent_type))).toEqual(new Set(['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']));

    // Something to show for each: sources read from the app itself, generated content, an .ics, an analysis table, the outbox.
    // biome-ignore lint/suspicious/noExplicitAny: tests read results loosely
    const result = (type: string) => tasks.filter((t) => t.agent_type === type).map((t) => t.result as Record<string, any>);
    for (const research of result('research')) {
      for (const source of research.sources) expect(source.finalUrl).toMatch(new RegExp(`^${web.url}/demo/docs/[a-z-]+\\.html$`));
    }
    expect(result('research')[0]?.sources[0]?.title).toBeTruthy();
    expect(result('content').every((c) => c.text.length > 50)).toBe(true);
    expect(result('scheduling')[0]?.ics).toContain('BEGIN:VCALENDAR');
    expect(result('analysis')[0]?.table.rows.length).toBeGreaterThan(0);
    const outbox = (await api(`/api/outbox?workspaceId=${workspaceId}`)).body.messages as { subject: string }[];
    // The digest's outline goes to its editor: parameters left out take their defaults.
    expect(outbox.map((m) => m.subject).sort()).toEqual(['Digest #1: the outline', 'Version 2.4 is out', 'We are live']);
    const digest = done.find((s) => s.execution.strategyId === strategies.find((x) => x.name === 'Plan the weekly digest')!.id)!;
    expect(digest.execution.input).toEqual({ editor: 'editor@example.com', issue: 1 });

    // No connection left this machine: the database, pg-boss and the app's own pages only.
    expect(connections.length).toBeGreaterThan(0);
    expect(connections.filter((c) => !c.startsWith('127.0.0.1:') && !c.startsWith('::1:') && !c.startsWith('::ffff:127.'))).toEqual([]);
    expect(connections).toContain(`127.0.0.1:${new URL(web.url).port}`);
  });

  it('lists executions live, with search, status filters, pages and a chart of recent runs; passes axe', async () => {
    const { page, errors } = await loggedInPage();
    const section = page.locator('section[aria-labelledby=executions-title]');
    const rows = section.locator('tr[data-execution]');
    expect(await rows.count()).toBe(3);
    await section.getByText('live', { exact: true }).waitFor();

    // Runs started elsewhere appear without a reload; past the first page, older ones load on demand.
    const strategies = (await api(`/api/strategies?workspaceId=${workspaceId}`)).body.strategies as { id: string; name: string }[];
    const digest = strategies.find((s) => s.name === 'Plan the weekly digest')!.id;
    const more: string[] = [];
    for (let i = 0; i < 18; i++) more.push((await startExecution(h.ctx, { strategyId: digest, workspaceId })).id);
    await section.locator(`tr[data-execution="${more.at(-1)}"]`).waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-execution]').length === n, 20);
    await section.getByRole('button', { name: 'Load older executions' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-execution]').length === n, 21);
    expect(await section.getByRole('button', { name: 'Load older executions' }).count()).toBe(0);
    await Promise.all(more.map((id) => h.waitForStatus(id, ['completed'], 60_000)));
    await page.waitForFunction(() => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-status=completed]').length === 21);

    // Search by strategy name, then by an execution id; filter by status.
    await section.getByLabel('Search executions by id or strategy').fill('WEEKLY');
    await page.waitForFunction((n) => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-execution]').length === n, 19);
    await section.getByLabel('Search executions by id or strategy').fill(more[0]!);
    await page.waitForFunction((n) => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-execution]').length === n, 1);
    await section.getByLabel('Search executions by id or strategy').fill('');
    await section.getByRole('button', { name: 'Failed' }).click();
    await section.getByText('No execution matches these filters.').waitFor();
    await section.getByRole('button', { name: 'All' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('section[aria-labelledby=executions-title] tr[data-execution]').length === n, 20);

    // The chart of recent runs, described for screen readers.
    expect(await section.locator('figure svg[role=img]').getAttribute('aria-label')).toMatch(/^20 recent runs: 20 completed; median duration /);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await saveScreenshot(page, 'workspace');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await section.locator('tr[data-execution] td').first().isVisible()).toBe(true);
    await saveScreenshot(page, 'workspace-390');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe('API tokens in the workspace settings', () => {
  it('reads a completed run with failed tasks as such in the list, never as a plain green completed', async () => {
    const [strategy] = await h.database.sql<{ id: string }[]>`select id from strategies where workspace_id = ${workspaceId} limit 1`;
    const id = `exec_${Date.now()}_mixedrun`;
    await h.database.sql`
      insert into executions (id, workspace_id, strategy_id, status, total_tasks, completed_tasks, failed_tasks, started_at, completed_at)
      values (${id}, ${workspaceId}, ${strategy!.id}, 'completed', 5, 3, 2, now(), now())`;
    const { page, errors } = await loggedInPage();
    const badge = page.locator(`tr[data-execution="${id}"] [data-status="completed"]`);
    expect((await badge.textContent())?.trim()).toBe('completed · 2 failed');
    expect(await badge.getAttribute('class')).toContain('warn');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('creates a token shown once with a copy button, which then works with the REST API, shows when it was last used, and stops at revoke', async () => {
    const { page, errors } = await loggedInPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.url });
    const settings = page.locator('section[aria-labelledby=tokens-title]');
    await settings.getByLabel('Token name').fill('CI deploys');
    await settings.getByRole('button', { name: 'Create token' }).click();
    const secret = await settings.getByLabel('The new API token').inputValue();
    expect(secret).toMatch(/^strata_/);
    await settings.getByRole('button', { name: 'Copy' }).click();
    await settings.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = settings.locator('tr[data-token="CI deploys"]');
    expect(await row.textContent()).toContain('never');

    // curl-like: the token works against the REST API, bound to this workspace.
    const me = await fetch(`${web.url}/api/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    const executions = await fetch(`${web.url}/api/executions?workspaceId=${workspaceId}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(executions.status).toBe(200);

    // Shown once: after a reload the secret is gone, and the list says it was used.
    await page.reload({ waitUntil: 'networkidle' });
    expect(await settings.getByLabel('The new API token').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    expect(await row.locator('td').nth(2).locator('time').count()).toBe(1);
    expect(await seriousA11yViolations(page)).toEqual([]);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Revoke CI deploys' }).click();
    await row.getByText('revoked').waitFor();
    expect((await fetch(`${web.url}/api/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('refuses an empty name beside the form, keeping nothing', async () => {
    const { page } = await loggedInPage();
    const settings = page.locator('section[aria-labelledby=tokens-title]');
    await settings.getByLabel('Token name').fill('   ');
    await settings.getByRole('button', { name: 'Create token' }).click();
    await settings.getByRole('alert').waitFor();
    expect(await settings.getByRole('alert').textContent()).toContain('name is required');
    expect((await api(`/api/tokens?workspaceId=${workspaceId}`)).body.tokens.filter((t: { name: string }) => t.name.trim() === '')).toEqual([]);
    await page.context().close();
  });
});
