import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * The account pages a new user meets first, checked with axe-core in a real browser at desktop
 * and phone widths (the strategy, execution and workspace pages have their own checks).
 */
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

describe('accessibility of the account pages', () => {
  it('has no serious or critical axe violation on sign-up, login, the workspaces home and the account page, wide or narrow', async () => {
    const { page, errors } = await newCheckedPage(browser);
    const check = async (path: string) => {
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 844 });
        await page.goto(`${web.url}${path}`, { waitUntil: 'networkidle' });
        expect(await seriousA11yProblems(page), `${path} at ${width} px`).toEqual([]);
      }
    };
    await check('/signup');
    await check('/login');
    await page.goto(`${web.url}/signup`, { waitUntil: 'networkidle' });
    await page.fill('input[name=name]', 'Ada');
    await page.fill('input[name=email]', 'ada@example.com');
    await page.fill('input[name=password]', 'a long and careful passphrase');
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/app`);
    await check('/app');
    await check('/app/account');
    expect(errors).toEqual([]);
  });
});
