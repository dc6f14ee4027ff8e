/**
 * Issue 9, "Headers and cookies": every response carries the security headers (a page its own
 * Content-Security-Policy with a nonce, anything else the strict non-page one), HSTS only over
 * HTTPS, and the session cookie is Secure exactly when the request came over HTTPS. A real
 * Chromium runs the dashboard under that policy without a single violation.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NON_PAGE_CSP } from '@strata/api';
import { startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

let h: EngineHarness;
let plain: RunningWeb;
let httpsOrigin: RunningWeb;
let behindProxy: RunningWeb;
let token: string;
let workspaceId: string;
let executionId: string;

const EMAIL = 'headers@example.com';
const PASSWORD = 'headers and cookies';

beforeAll(async () => {
  h = await createEngineHarness();
  [plain, httpsOrigin, behindProxy] = await Promise.all([
    startWeb({ DATABASE_URL: h.database.url }),
    startWeb({ DATABASE_URL: h.database.url, ORIGIN: 'https://strata.example.com' }),
    startWeb({ DATABASE_URL: h.database.url, TRUST_PROXY: 'true' }),
  ]);
  const signup = await fetch(`${plain.url}/api/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD, name: 'Hedda' }) });
  token = (await signup.json()).token;
  const workspace = await fetch(`${plain.url}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ name: 'Headers' }) });
  workspaceId = (await workspace.json()).workspace.id;
  // No worker: the execution stays open (its stream too), half done for the progress bar.
  const strategyId = await h.strategy(workspaceId, [{ key: 'one', description: 'Waits for a worker', agentType: 'coordination', input: {} }]);
  executionId = (await startExecution(h.ctx, { strategyId, workspaceId })).id;
});
afterAll(async () => {
  await Promise.all([plain?.stop(), httpsOrigin?.stop(), behindProxy?.stop()]);
  await h?.close();
});

function expectCommonHeaders(response: Response) {
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  expect(response.headers.get('x-frame-options')).toBe('DENY');
}

const login = (web: RunningWeb, headers: Record<string, string> = {}) =>
  fetch(`${web.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });

describe('security headers', () => {
  it('a page carries its own policy: scripts by nonce from this origin, framed by nobody', async () => {
    const response = await fetch(`${plain.url}/login`);
    expect(response.status).toBe(200);
    expectCommonHeaders(response);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain("script-src 'self' 'unsafe-inline'");
    // The nonce in the header is the one on the page's inline bootstrap script.
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(await response.text()).toContain(`<script nonce="${nonce}">`);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });

  it('API answers (tRPC, REST, errors) carry the strict non-page policy', async () => {
    for (const response of [
      await fetch(`${plain.url}/api/health`),
      await fetch(`${plain.url}/api/me`),
      await fetch(`${plain.url}/api/me`, { headers: { authorization: `Bearer ${token}` } }),
      await fetch(`${plain.url}/api/trpc/health`),
      await fetch(`${plain.url}/api/executions/%E0%A4%A/stream`),
    ]) {
      expectCommonHeaders(response);
      expect(response.headers.get('content-security-policy')).toBe(NON_PAGE_CSP);
    }
  });

  it('the SSE stream (served beside SvelteKit) carries them too, refused or open', async () => {
    const refused = await fetch(`${plain.url}/api/executions/${executionId}/stream`);
    expect(refused.status).toBe(401);
    expectCommonHeaders(refused);
    const controller = new AbortController();
    const open = await fetch(`${plain.url}/api/executions/${executionId}/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toContain('text/event-stream');
    expectCommonHeaders(open);
    expect(open.headers.get('content-security-policy')).toBe(NON_PAGE_CSP);
    controller.abort();
  });

  it('static files are nosniff', async () => {
    const dir = fileURLToPath(new URL('../build/client/_app/immutable/entry/', import.meta.url));
    const file = readdirSync(dir).find((name) => name.endsWith('.js'));
    const response = await fetch(`${plain.url}/_app/immutable/entry/${file}`);
    expect(response.status).toBe(200);
    expectCommonHeaders(response);
  });

  it('HSTS only over HTTPS: ORIGIN https, or a trusted proxy saying https', async () => {
    expect((await fetch(`${httpsOrigin.url}/api/health`)).headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect((await fetch(`${httpsOrigin.url}/login`)).headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect((await fetch(`${behindProxy.url}/api/health`, { headers: { 'x-forwarded-proto': 'https' } })).headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect((await fetch(`${behindProxy.url}/api/health`)).headers.get('strict-transport-security')).toBeNull();
    // An untrusted X-Forwarded-Proto is anyone's word.
    expect((await fetch(`${plain.url}/api/health`, { headers: { 'x-forwarded-proto': 'https' } })).headers.get('strict-transport-security')).toBeNull();
  });
});

describe('the session cookie', () => {
  const cookieOf = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith('strata_session='));

  it('is not Secure over plain HTTP (it would never come back)', async () => {
    const response = await login(plain);
    expect(response.status).toBe(200);
    expect(cookieOf(response)).toContain('HttpOnly');
    expect(cookieOf(response)).not.toMatch(/;\s*Secure/i);
  });

  it('is Secure when ORIGIN is https', async () => {
    const response = await login(httpsOrigin);
    expect(response.status).toBe(200);
    expect(cookieOf(response)).toMatch(/;\s*Secure/i);
  });

  it('is Secure behind a trusted proxy that says https, and only then', async () => {
    const viaHttps = await login(behindProxy, { 'x-forwarded-proto': 'https' });
    expect(cookieOf(viaHttps)).toMatch(/;\s*Secure/i);
    const viaHttp = await login(behindProxy, { 'x-forwarded-proto': 'http' });
    expect(cookieOf(viaHttp)).not.toMatch(/;\s*Secure/i);
    const untrusted = await login(plain, { 'x-forwarded-proto': 'https' });
    expect(cookieOf(untrusted)).not.toMatch(/;\s*Secure/i);
  });

  it('is Secure when cleared at logout over HTTPS too', async () => {
    const session = (await (await login(httpsOrigin)).json()).token as string;
    const response = await fetch(`${httpsOrigin.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${session}` } });
    expect(cookieOf(response)).toMatch(/^strata_session=;.*;\s*Secure;.*Max-Age=0/i);
  });
});

describe('the dashboard under its Content-Security-Policy (Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('logs in, lists the workspace with its progress bar and mail preview, and follows an execution, without a violation', async () => {
    await h.database.sql`
      insert into email_outbox (id, execution_id, task_id, "from", "to", subject, text, html)
      values ('mail_csp', ${executionId}, null, 'Strata <strata@localhost>', ${['board@example.com']}, 'Styled mail', 'Hello', '<p style="color: rebeccapurple">Hello</p>')`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));
    });

    await page.goto(`${plain.url}/login`);
    await page.fill('input[name=email]', EMAIL);
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${plain.url}/app`);
    await page.click(`a[href="/app/w/${workspaceId}"]`);
    await page.waitForURL(`${plain.url}/app/w/${workspaceId}`);
    expect(await page.locator('h1').textContent()).toBe('Headers');
    // The style attribute of the progress bar applies.
    const bar = page.locator(`tr[data-execution="${executionId}"] .bar span`);
    expect(await bar.evaluate((element) => element.getAttribute('style'))).toContain('width');
    // The mail preview (a sandboxed srcdoc frame) renders, its inline style too.
    const mail = page.locator('[data-message="mail_csp"]');
    await mail.locator('summary').first().click();
    const preview = page.frameLocator('[data-message="mail_csp"] iframe').locator('p');
    expect(await preview.evaluate((element) => getComputedStyle(element).color)).toBe('rgb(102, 51, 153)');

    // The execution page streams live (connect-src 'self').
    await page.goto(`${plain.url}/app/executions/${executionId}`);
    await page.locator('[data-execution-status]').first().waitFor();
    await page.locator('[data-task-status]').first().waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });
});
