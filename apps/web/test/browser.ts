import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from './chromium.ts';

/** The Chromium found by the global setup (chromium-setup.ts), headless, with the flags a closed network needs. */
export async function launchBrowser(): Promise<Browser> {
  const found = findChromium();
  if (!found.found) throw new Error(found.message);
  return chromium.launch({
    executablePath: found.path,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh context that collects uncaught script errors and console errors (the test expects none). */
export async function newCheckedPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // Responses with an error status are the API answering; anything else logged as an error is not.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  return { page, errors };
}

/** A checked page logged in through the login form as `email`. */
export async function loggedInPage(browser: Browser, baseUrl: string, email: string, password: string): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await newCheckedPage(browser);
  // networkidle: the app's modules have loaded and hydrated the form before it is used.
  await page.goto(`${baseUrl}/login`, { waitUntil: 'networkidle' });
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${baseUrl}/app`);
  return { page, errors };
}
