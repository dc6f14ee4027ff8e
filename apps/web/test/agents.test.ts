import { BUILT_IN_AGENTS } from '@strata/agents';
import { fileURLToPath } from 'node:url';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * GET /api/agents on the real server with a custom agent module loaded, and the strategy form
 * drawing that agent's input from its schema: integer, boolean, enum, list of strings, list of
 * objects, and raw JSON for a free-form record.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let token: string;

beforeAll(async () => {
  h = await createEngineHarness();
  web = await startWeb({ DATABASE_URL: h.database.url, STRATA_AGENT_MODULES: fileURLToPath(new URL('./fixtures/custom-agents.ts', import.meta.url)) });
  browser = await launchBrowser();
  const signup = await fetch(`${web.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'agents@example.com', password: 'an agents password' }) });
  token = ((await signup.json()) as { token: string }).token;
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('GET /api/agents', () => {
  it('lists the built-in agents and the custom one that replaced content, to signed-in callers only', async () => {
    expect((await fetch(`${web.url}/api/agents`)).status).toBe(401);
    const res = await fetch(`${web.url}/api/agents`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const { agents } = (await res.json()) as { agents: { type: string; description: string | null; inputSchema: Record<string, unknown> | null; example: unknown }[] };
    expect(agents.map((a) => a.type).sort()).toEqual(Object.keys(BUILT_IN_AGENTS).sort());
    for (const agent of agents) expect(agent.inputSchema, agent.type).toMatchObject({ type: 'object' });
    expect(agents.find((a) => a.type === 'content')).toMatchObject({
      description: 'Writes a post about a topic, in house style.',
      example: { topic: 'Spring launch', tone: 'warm' },
      inputSchema: { required: ['topic'], properties: { words: { type: 'integer' }, draft: { type: 'boolean' }, tone: { enum: ['plain', 'warm', 'formal'] } } },
    });
    expect(agents.find((a) => a.type === 'email')?.description).toMatch(/^Sends an email/);
  });

  it('draws the custom agent’s input in the form and stores what was entered', async () => {
    const workspace = await fetch(`${web.url}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'Custom' }) });
    const workspaceId = ((await workspace.json()) as { workspace: { id: string } }).workspace.id;
    const { page, errors } = await newCheckedPage(browser);
    await page.goto(`${web.url}/login`, { waitUntil: 'networkidle' });
    await page.fill('input[name=email]', 'agents@example.com');
    await page.fill('input[name=password]', 'an agents password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app`);
    await page.goto(`${web.url}/app/w/${workspaceId}/strategies/new`, { waitUntil: 'networkidle' });
    await page.locator('#strategy-name').fill('Custom content');
    await page.getByRole('button', { name: 'Add item', exact: true }).click();
    const item = page.locator('[data-item-index="0"]');
    await item.getByLabel('Agent', { exact: true }).selectOption('content');
    await item.getByLabel('Item description', { exact: true }).fill('Write it');
    // The example fills the form; each kind of field is drawn as such.
    expect(await item.getByLabel('Topic *', { exact: true }).inputValue()).toBe('Spring launch');
    expect(await item.getByLabel('Tone', { exact: true }).inputValue()).toBe('warm');
    await item.getByLabel('Topic *', { exact: true }).fill('Autumn sale');
    await item.getByLabel('Words', { exact: true }).fill('300');
    await item.getByLabel('Draft', { exact: true }).check();
    await item.getByLabel('Tone', { exact: true }).selectOption('formal');
    await item.getByRole('button', { name: 'Add tags' }).click();
    await item.getByLabel('Tags 1', { exact: true }).fill('retail');
    await item.getByRole('button', { name: 'Add reviewers' }).click();
    await item.getByLabel('Email *', { exact: true }).fill('not an address');
    await item.getByLabel('Style (JSON)').fill('{"voice": "active"}');

    // The server's check of the custom schema lands beside the reviewer's email.
    await page.click('button[type=submit]');
    await item.locator('p.field-error', { hasText: 'Invalid email address' }).waitFor();
    expect(await item.getByLabel('Email *', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    await item.getByLabel('Email *', { exact: true }).fill('editor@example.com');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/strategies\/strat_[^/]+$/);
    const [row] = await h.database.sql<{ input: Record<string, unknown> }[]>`select input from strategy_items where level = 4`;
    expect(row?.input).toEqual({ topic: 'Autumn sale', words: 300, draft: true, tone: 'formal', tags: ['retail'], reviewers: [{ email: 'editor@example.com' }], style: { voice: 'active' } });
    expect(errors).toEqual([]);
  });
});
