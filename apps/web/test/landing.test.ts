import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
