import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yViolations } from './axe.ts';
import { launchBrowser } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

let test: TestDatabase;
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  test = await createTestDatabase();
  web = await startWeb({ DATABASE_URL: test.url });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await test?.drop();
});

describe('landing page in a real browser', () => {
  it('says what Strata is and links to the health check', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const response = await page.goto(web.url);
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toContain('Strata');
    expect(await page.locator('h1').textContent()).toBe('Strata');
    expect(await page.locator('main').textContent()).toContain('runs your strategies autonomously');
    // Not a page: the click ends in a full navigation, which is awaited before reading the body.
    await Promise.all([page.waitForURL('**/api/health'), page.click('a[href="/api/health"]')]);
    expect(await page.locator('body').textContent()).toContain('"database":"ok"');
    expect(errors).toEqual([]);
  });
});

describe('the API reference in a real browser', () => {
  it('renders every path, the stream, Idempotency-Key and the agents’ inputs, self-hosted under its own narrow CSP', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const offOrigin: string[] = [];
    const failed: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    // The renderer's stylesheet names its CDN fonts; the page's CSP refuses them (we use system
    // fonts), so nothing off-origin may ever be answered.
    page.on('response', (response) => {
      if (!response.url().startsWith(web.url) && !response.url().startsWith('data:')) offOrigin.push(response.url());
      else if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) failed.push(`${response.status()} ${response.url()}`);
    });

    const response = await page.goto(`${web.url}/docs/api`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
    expect(csp).toContain("frame-ancestors 'none'");

    // Scalar rendered the document: the title, the seed's endpoints, the stream, the header, the agents.
    await page.getByRole('heading', { name: 'Strata API', level: 1 }).waitFor();
    const text = ((await page.locator('body').textContent()) ?? '').replace(/\s+/g, ' ');
    for (const expected of ['Start an execution of a strategy', 'Follow an execution live', 'Create an API token', 'Pause (running tasks finish', 'Cancel (tasks not started are skipped)']) {
      expect(text).toContain(expected);
    }
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    await page.getByText('Start an execution of a strategy').first().click();
    await page.getByText('Idempotency-Key').first().waitFor();
    // The models list each agent's input.
    expect(await page.content()).toContain('ResearchAgentInput');

    expect(offOrigin).toEqual([]);
    const cdnFontBlocked = /^Loading the font 'https:\/\/fonts\.scalar\.com\/[\w-]+\.woff2' violates the following Content Security Policy directive: "font-src 'self' data:"\. The action has been blocked\.$/;
    expect(problems.filter((p) => !cdnFontBlocked.test(p) && !p.startsWith('Failed to load resource'))).toEqual([]);
    expect(failed).toEqual([]);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await saveScreenshot(page, 'api-reference', { fullPage: false });

    // Other pages keep the strict policy: no inline styles allowed there.
    const landing = await page.goto(web.url);
    expect(landing?.headers()['content-security-policy']).toContain("style-src 'self'");
    expect(landing?.headers()['content-security-policy']).not.toContain("style-src 'self' 'unsafe-inline'");
    await context.close();
  });

  it('serves the OpenAPI document with every agent type', async () => {
    const doc = (await (await fetch(`${web.url}/api/openapi.json`)).json()) as { components: { schemas: Record<string, unknown> } };
    for (const type of ['Email', 'Content', 'Research', 'Scheduling', 'Analysis', 'Coordination']) {
      expect(doc.components.schemas).toHaveProperty(`${type}AgentInput`);
    }
  });
});
