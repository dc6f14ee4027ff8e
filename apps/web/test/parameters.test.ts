import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Parameters in the dashboard, in a real browser against the built app and a real database: a
 * strategy's parameters declared in the form (a bad name refused beside it), shown on its page;
 * a start through the input dialog (a missing field caught before sending, the server's refusal
 * beside the field it names, a good input starting it); the execution page's version, trigger
 * and input; an edit whose parameter changes the version diff names; the Run buttons of the
 * workspace (the dialog, and a strategy given parameters after the page was read); a schema
 * the list cannot show edited as JSON and kept whole, and the server's refusal of a schema
 * beside the section. axe finds nothing serious; nothing scrolls sideways at 390 px.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;

const field = (scope: Locator | Page, label: string) => scope.getByLabel(label, { exact: true });
const parameter = (page: Page, index: number) => page.locator(`[data-parameter-index="${index}"]`);
const dialogOf = (page: Page) => page.locator('dialog[data-start-dialog][open]');
const narrow = async (page: Page, what: string) => expect(await page.evaluate(() => document.documentElement.scrollWidth), what).toBeLessThanOrEqual(390);

async function addParameter(page: Page, index: number, values: { name: string; type: string; required?: boolean; description?: string; default?: string }) {
  await page.getByRole('button', { name: 'Add parameter', exact: true }).click();
  const scope = parameter(page, index);
  await field(scope, 'Name').fill(values.name);
  await field(scope, 'Type').selectOption({ label: values.type });
  if (values.required) await field(scope, 'Required').check();
  if (values.description) await field(scope, 'Parameter description').fill(values.description);
  if (values.default) await field(scope, 'Default').fill(values.default);
}

async function api<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${web.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect(res.status, `${method} ${path}: ${res.status}`).toBeLessThan(300);
  return (await res.json()) as T;
}

const ITEMS = [{ key: 'a', description: 'A', agentType: 'analysis', input: { fields: ['x'] } }];

/** A new account with a workspace, made over the API; its page is logged in through the login form. */
async function account(email: string, workspaceName: string): Promise<{ token: string; workspaceId: string; page: Page; errors: string[] }> {
  const password = `a password for ${email}`;
  const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const token = ((await signup.json()) as { token: string }).token;
  const workspaceId = (await api<{ workspace: { id: string } }>(token, 'POST', '/api/workspaces', { name: workspaceName })).workspace.id;
  const { page, errors } = await newCheckedPage(browser);
  await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${web.url}/app`);
  return { token, workspaceId, page, errors };
}

const createStrategy = async (token: string, body: Record<string, unknown>) => (await api<{ strategy: { id: string } }>(token, 'POST', '/api/strategies', { items: ITEMS, ...body })).strategy.id;

beforeAll(async () => {
  h = await createEngineHarness();
  for (const type of ['email', 'content', 'research', 'scheduling', 'analysis', 'coordination']) h.registry.register(type, () => ({ done: type }));
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url, RATE_LIMIT_START_PER_MIN: '1000' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('parameters in the dashboard', () => {
  it('declares parameters, starts through the input dialog, shows the execution’s version, trigger and input, and diffs a parameter change', async () => {
    const { page, errors } = await newCheckedPage(browser);
    await page.goto(`${web.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Pat Parameters');
    await page.fill('input[name=email]', 'pat@example.com');
    const [signup] = await Promise.all([page.waitForResponse(`${web.url}/api/auth/signup`), page.fill('input[name=password]', 'a parameters password').then(() => page.click('button[type=submit]'))]);
    const token = ((await signup.json()) as { token: string }).token;
    await page.waitForURL(`${web.url}/app`);
    await page.fill('input[name=workspace-name]', 'Mailing');
    await page.click('button:has-text("Create workspace")');
    await page.waitForURL(/\/app\/w\/ws_/);
    const workspacePath = new URL(page.url()).pathname;
    const workspaceId = workspacePath.split('/').pop()!;

    // The form: two parameters and one item.
    await page.goto(`${web.url}${workspacePath}/strategies/new`, { waitUntil: 'networkidle' });
    await page.locator('#strategy-name').fill('Welcome mail');
    expect(await page.locator('.parameters').textContent()).toContain('{{input.<name>}}');
    await addParameter(page, 0, { name: 'the recipient', type: 'Email address', required: true, description: 'Who is welcomed' });
    await addParameter(page, 1, { name: 'count', type: 'Whole number', default: '2' });
    await page.getByRole('button', { name: 'Add item', exact: true }).click();
    await field(page.locator('[data-item-index="0"]'), 'Agent').selectOption('content');
    await field(page.locator('[data-item-index="0"]'), 'Key').fill('welcome');
    await field(page.locator('[data-item-index="0"]'), 'Item description').fill('Write the welcome for {{input.recipient}}');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.locator('.parameters').scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'strategy-form-parameters', { fullPage: false });

    // A name an item could not read as {{input.<name>}}: refused beside it, nothing saved.
    await page.click('button[type=submit]');
    const nameError = parameter(page, 0).locator('p.field-error');
    await nameError.waitFor();
    expect(await nameError.textContent()).toContain('starting with a letter or _');
    expect(await field(parameter(page, 0), 'Name').getAttribute('aria-invalid')).toBe('true');
    expect(await field(parameter(page, 0), 'Name').getAttribute('aria-describedby')).toBe(await nameError.getAttribute('id'));
    expect((await h.database.sql`select count(*)::int as n from strategies`)[0]?.n).toBe(0);
    await field(parameter(page, 0), 'Name').fill('recipient');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    const strategyUrl = page.url();
    const strategyId = strategyUrl.split('/').pop()!;
    await page.waitForLoadState('networkidle');
    const [stored] = await h.database.sql<{ input_schema: unknown }[]>`select input_schema from strategy_versions where strategy_id = ${strategyId} and version = 1`;
    expect(stored?.input_schema).toEqual({
      type: 'object',
      properties: { recipient: { type: 'string', format: 'email', description: 'Who is welcomed' }, count: { type: 'integer', default: 2 } },
      required: ['recipient'],
      additionalProperties: false,
    });

    // The strategy page lists them.
    expect(await page.locator('.meta').first().textContent()).toContain('2 parameters');
    expect(await page.locator('[data-parameter="recipient"]').textContent()).toMatch(/recipient\s*Email address\s*required\s*Who is welcomed/);
    expect(await page.locator('[data-parameter="count"]').textContent()).toMatch(/count\s*Whole number\s*default 2/);
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Start: the dialog, its default filled in and the required field marked.
    await page.getByRole('button', { name: 'Start execution', exact: true }).click();
    const dialog = dialogOf(page);
    await dialog.waitFor();
    expect(await field(dialog, 'Count').inputValue()).toBe('2');
    expect(await field(dialog, 'Recipient *').inputValue()).toBe('');
    expect(await dialog.locator('.hint').first().textContent()).toBe('Who is welcomed');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'start-dialog', { fullPage: false });

    // Left empty: caught before sending, beside the field.
    const executions = async () => (await h.database.sql<{ n: number }[]>`select count(*)::int as n from executions`)[0]?.n;
    await dialog.getByRole('button', { name: 'Start execution' }).click();
    const recipientError = dialog.locator('p.field-error');
    await recipientError.waitFor();
    expect(await recipientError.textContent()).toBe('input.recipient: is required');
    expect(await field(dialog, 'Recipient *').getAttribute('aria-invalid')).toBe('true');
    expect(await executions()).toBe(0);

    // An address only the server's check refuses: its 400, beside the field it names.
    await field(dialog, 'Recipient *').fill('ana@exa_mple.com');
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/executions/start')), dialog.getByRole('button', { name: 'Start execution' }).click()]);
    expect(refused.status()).toBe(400);
    expect(await refused.json()).toEqual({ error: 'input.recipient: must match format "email"', field: 'input.recipient' });
    await dialog.locator('p.field-error', { hasText: 'must match format "email"' }).waitFor();
    expect(await field(dialog, 'Recipient *').getAttribute('aria-describedby')).toContain(await dialog.locator('p.field-error').getAttribute('id'));
    expect(await executions()).toBe(0);

    // A good one starts it.
    await field(dialog, 'Recipient *').fill('ana@example.com');
    await dialog.getByRole('button', { name: 'Start execution' }).click();
    await page.waitForURL(/\/app\/executions\/exec_/);
    const executionId = page.url().split('/').pop()!;
    const [execution] = await h.database.sql<{ input: unknown; trigger: string; strategy_version: number }[]>`select input, trigger, strategy_version from executions where id = ${executionId}`;
    expect(execution).toEqual({ input: { recipient: 'ana@example.com', count: 2 }, trigger: 'api', strategy_version: 1 });

    // The execution's header: its version (a link to it), how it was started and its input.
    const origin = page.getByTestId('execution-origin');
    await page.locator('[data-execution-status="completed"]').waitFor();
    expect(await origin.locator('[data-origin="version"]').textContent()).toMatch(/Runs\s*Welcome mail, version 1/);
    expect(await origin.locator('[data-origin="version"] a').getAttribute('href')).toBe(new URL(strategyUrl).pathname);
    expect(await origin.locator('[data-origin="trigger"]').textContent()).toContain('Started by API or dashboard');
    await origin.locator('summary', { hasText: 'Input (2 fields)' }).click();
    expect(await origin.locator('[data-input-key="recipient"] td').textContent()).toBe('ana@example.com');
    expect(await origin.locator('[data-input-key="count"] td').textContent()).toBe('2');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'execution-origin', { fullPage: false });

    // An edit: count's default changes and a parameter is added; the diff names both.
    await page.goto(`${strategyUrl}/edit`, { waitUntil: 'networkidle' });
    const named = (name: string) => page.locator(`[data-parameter-name="${name}"]`);
    expect(await field(named('recipient'), 'Required').isChecked()).toBe(true);
    expect(await field(named('recipient'), 'Type').inputValue()).toBe('email');
    expect(await field(named('recipient'), 'Parameter description').inputValue()).toBe('Who is welcomed');
    expect(await field(named('count'), 'Default').inputValue()).toBe('2');
    await field(named('count'), 'Default').fill('5');
    await addParameter(page, 2, { name: 'region', type: 'Text' });
    await page.click('button:has-text("Save version 2")');
    await page.waitForURL(strategyUrl);
    await page.getByTestId('strategy-version').filter({ hasText: 'Version 2' }).waitFor();
    expect(await page.getByTestId('versions').locator('li').allTextContents()).toEqual([expect.stringContaining('3 parameters'), expect.stringContaining('2 parameters')]);
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.getByTestId('version-diff');
    await diff.waitFor();
    expect(await diff.locator('[data-diff="parameter"]').allTextContents()).toEqual([expect.stringMatching(/^Added parameter region \(Text\)$/), expect.stringMatching(/^Changed parameter count\s*default: 2 → 5$/)]);

    // The execution still runs version 1, and says the latest is 2.
    await page.goto(`${web.url}/app/executions/${executionId}`, { waitUntil: 'networkidle' });
    expect(await page.getByTestId('execution-origin').locator('[data-origin="version"]').textContent()).toMatch(/version 1\s*\(latest is version 2\)/);
    expect(await page.getByTestId('execution-origin').locator('[data-origin="version"] a').getAttribute('href')).toBe(`${new URL(strategyUrl).pathname}?version=1`);

    // How it was started, for the other triggers (written as schedules and re-runs write them).
    const other = (await api<{ executionId: string }>(token, 'POST', '/api/executions/start', { workspaceId, strategyId, input: { recipient: 'bo@example.com' } })).executionId;
    const rerun = (await api<{ executionId: string }>(token, 'POST', '/api/executions/start', { workspaceId, strategyId, input: { recipient: 'cy@example.com' } })).executionId;
    await h.database.sql`update executions set trigger = 'schedule', schedule_id = 'sched_weekly' where id = ${other}`;
    await h.database.sql`update executions set trigger = 'retry', retry_of = ${executionId} where id = ${rerun}`;
    await page.goto(`${web.url}/app/executions/${other}`, { waitUntil: 'networkidle' });
    expect(await page.locator('[data-origin="trigger"]').textContent()).toMatch(/Started by schedule\s*sched_weekly/);
    await page.goto(`${web.url}/app/executions/${rerun}`, { waitUntil: 'networkidle' });
    expect(await page.locator('[data-origin="trigger"]').textContent()).toMatch(new RegExp(`Retry of\\s*${executionId}`));
    await page.locator('[data-origin="trigger"] a').click();
    await page.waitForURL(`${web.url}/app/executions/${executionId}`);
    // The workspace's list marks them.
    await page.goto(`${web.url}${workspacePath}`, { waitUntil: 'networkidle' });
    expect(await page.locator(`tr[data-execution="${other}"] [data-trigger="schedule"]`).getAttribute('title')).toBe('Started by schedule sched_weekly');
    expect(await page.locator(`tr[data-execution="${rerun}"] [data-trigger="retry"]`).getAttribute('title')).toBe(`Retry of ${executionId}`);
    expect(await page.locator(`tr[data-execution="${executionId}"] [data-trigger]`).count()).toBe(0);
    expect(await seriousA11yProblems(page)).toEqual([]);

    // 390 px: the form, the strategy page, the dialog and the execution page fit.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const path of [`${new URL(strategyUrl).pathname}/edit`, new URL(strategyUrl).pathname, `/app/executions/${executionId}`]) {
      await page.goto(`${web.url}${path}`, { waitUntil: 'networkidle' });
      await narrow(page, path);
    }
    await page.locator('[data-testid="execution-origin"] summary').click();
    await saveScreenshot(page, 'execution-origin-390', { fullPage: false });
    await page.goto(strategyUrl, { waitUntil: 'networkidle' });
    await page.getByRole('button', { name: 'Start execution', exact: true }).click();
    await dialogOf(page).waitFor();
    await narrow(page, 'the start dialog');
    expect(await dialogOf(page).evaluate((el) => el.getBoundingClientRect().right)).toBeLessThanOrEqual(390);
    expect(await seriousA11yProblems(page)).toEqual([]);
    await dialogOf(page).getByRole('button', { name: 'Cancel' }).click();
    await dialogOf(page).waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
  });

  it('asks for input from the workspace’s Run button, also for a strategy given parameters after the page was read', async () => {
    const { token, workspaceId, page, errors } = await account('run@example.com', 'Runs');
    const schema = { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'], additionalProperties: false };
    const asked = await createStrategy(token, { workspaceId, name: 'Asks', inputSchema: schema });
    const later = await createStrategy(token, { workspaceId, name: 'Later' });
    const plain = await createStrategy(token, { workspaceId, name: 'Plain' });
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    expect(await page.locator(`[data-strategy="${asked}"] .meta`).textContent()).toContain('1 parameter');

    // A strategy that declares parameters: Run opens the dialog.
    await page.getByRole('button', { name: 'Run Asks', exact: true }).click();
    const dialog = dialogOf(page);
    await dialog.waitFor();
    await field(dialog, 'Topic *').fill('spring');
    await dialog.getByRole('button', { name: 'Start execution' }).click();
    await page.waitForURL(/\/app\/executions\/exec_/);
    const first = page.url().split('/').pop()!;
    expect((await h.database.sql<{ input: unknown }[]>`select input from executions where id = ${first}`)[0]?.input).toEqual({ topic: 'spring' });

    // One without: one click, as before.
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    await page.getByRole('button', { name: 'Run Plain', exact: true }).click();
    await page.waitForURL(/\/app\/executions\/exec_/);
    expect((await h.database.sql<{ strategy_id: string; input: unknown }[]>`select strategy_id, input from executions where id = ${page.url().split('/').pop()!}`)[0]).toEqual({ strategy_id: plain, input: {} });

    // Given parameters after the page was read: the server's refusal opens the dialog, its message beside the field.
    await page.goto(`${web.url}/app/w/${workspaceId}`, { waitUntil: 'networkidle' });
    await api(token, 'PUT', `/api/strategies/${later}`, { name: 'Later', items: ITEMS, inputSchema: schema });
    await page.getByRole('button', { name: 'Run Later', exact: true }).click();
    await dialog.waitFor();
    expect(await dialog.locator('p.field-error').textContent()).toBe('input.topic: is required');
    expect(await field(dialog, 'Topic *').getAttribute('aria-invalid')).toBe('true');
    await field(dialog, 'Topic *').fill('autumn');
    await dialog.getByRole('button', { name: 'Start execution' }).click();
    await page.waitForURL(/\/app\/executions\/exec_/);
    expect((await h.database.sql<{ strategy_id: string; input: unknown; strategy_version: number }[]>`select strategy_id, input, strategy_version from executions where id = ${page.url().split('/').pop()!}`)[0]).toEqual({
      strategy_id: later,
      input: { topic: 'autumn' },
      strategy_version: 2,
    });
    expect(errors).toEqual([]);
  });

  it('edits a schema the parameter list cannot show as JSON, keeps it whole, and shows the server’s refusal beside the section', async () => {
    const { token, workspaceId, page, errors } = await account('json@example.com', 'Schemas');
    const schema = { type: 'object', properties: { seats: { type: 'integer', minimum: 1, maximum: 9 }, launch: { type: 'object', properties: { date: { type: 'string', format: 'date' } }, required: ['date'] } }, required: ['seats'] };
    const strategyId = await createStrategy(token, { workspaceId, name: 'Rich', inputSchema: schema });
    const strategyPath = `/app/w/${workspaceId}/strategies/${strategyId}`;

    // The page describes what the list cannot: the other keywords, and the schema itself.
    await page.goto(`${web.url}${strategyPath}`, { waitUntil: 'networkidle' });
    const seats = await page.locator('[data-parameter="seats"]').textContent();
    expect(seats).toMatch(/seats\s*integer\s*required/);
    expect(seats).toContain('minimum 1');
    expect(seats).toContain('maximum 9');
    // The dialog draws the nested object; its own checks know the bounds.
    await page.getByRole('button', { name: 'Start execution', exact: true }).click();
    const dialog = dialogOf(page);
    await dialog.waitFor();
    await field(dialog, 'Seats *').fill('12');
    await dialog.getByRole('button', { name: 'Start execution' }).click();
    await dialog.locator('p.field-error', { hasText: 'input.seats: must be at most 9' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // The form opens it as JSON; saved unchanged, version 2 holds the same schema.
    await page.goto(`${web.url}${strategyPath}/edit`, { waitUntil: 'networkidle' });
    expect(await page.locator('[data-parameters-mode]').getAttribute('data-parameters-mode')).toBe('json');
    expect(JSON.parse(await page.locator('#parameters-json').inputValue())).toEqual(schema);
    // The list cannot take it: it stays JSON, saying why.
    // (The click is undone: the box stays ticked.)
    await page.getByLabel('Edit as JSON').first().click();
    await page.getByTestId('parameters-error').filter({ hasText: 'stays JSON' }).waitFor();
    expect(await page.getByLabel('Edit as JSON').first().isChecked()).toBe(true);
    await page.click('button:has-text("Save version 2")');
    await page.waitForURL(`${web.url}${strategyPath}`);
    const versions = await h.database.sql<{ version: number; input_schema: unknown }[]>`select version, input_schema from strategy_versions where strategy_id = ${strategyId} order by version`;
    expect(versions).toEqual([
      { version: 1, input_schema: schema },
      { version: 2, input_schema: schema },
    ]);

    // A keyword ajv does not know: the server's refusal beside the section, nothing saved.
    await page.goto(`${web.url}${strategyPath}/edit`, { waitUntil: 'networkidle' });
    await page.locator('#parameters-json').fill('{ "type": "object", "propertys": {} }');
    await page.click('button:has-text("Save version 3")');
    const refusal = page.getByTestId('parameters-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('inputSchema: strict mode: unknown keyword: "propertys"');
    expect(await page.locator('#parameters-json').getAttribute('aria-invalid')).toBe('true');
    expect(await seriousA11yProblems(page)).toEqual([]);
    expect((await h.database.sql`select count(*)::int as n from strategy_versions where strategy_id = ${strategyId}`)[0]?.n).toBe(2);
    expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
  });
});
