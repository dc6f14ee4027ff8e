import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, loggedInPage as loggedIn } from './browser.ts';
import { apiCall, startWeb, type RunningWeb } from './server.ts';

/**
 * Members and invitations in the dashboard, in a real browser (finding 10): an admin invites
 * from the workspace page, the invitee accepts (or declines) on /app, the admin changes roles
 * and removes members, and the last owner cannot leave.
 */
let test: TestDatabase;
let web: RunningWeb;
let browser: Browser;
let ownerToken: string;
let workspaceId: string;

const PASSWORD = 'a members password';
const OWNER = 'olive.owner@example.com';
const INVITEE = 'ivan.invitee@example.com';
const DECLINER = 'dora.decliner@example.com';

const api = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => apiCall(web.url, path, init);

const loggedInPage = (email: string) => loggedIn(browser, web.url, email, PASSWORD);

const roleIn = async (email: string) =>
  (await test.sql`select m.role from memberships m join users u on u.id = m.user_id where m.workspace_id = ${workspaceId} and u.email = ${email}`)[0]?.role ?? null;

beforeAll(async () => {
  test = await createTestDatabase();
  web = await startWeb({ DATABASE_URL: test.url });
  browser = await launchBrowser();
  ownerToken = (await api('/api/auth/signup', { body: { email: OWNER, password: PASSWORD, name: 'Olive Owner' } })).body.token;
  for (const email of [INVITEE, DECLINER]) expect((await api('/api/auth/signup', { body: { email, password: PASSWORD } })).status).toBe(201);
  workspaceId = (await api('/api/workspaces', { body: { name: 'Team Olive' }, token: ownerToken })).body.workspace.id;
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await test?.drop();
});

describe('members and invitations in the dashboard', () => {
  it('invite, accept, decline, change a role, remove; the last owner cannot leave', async () => {
    const owner = await loggedInPage(OWNER);
    // Client-side navigation from here on: the page stays hydrated, so its buttons always act.
    const openWorkspace = async () => {
      await owner.page.click('header nav a[href="/app"]:not(.brand)');
      await owner.page.waitForURL(`${web.url}/app`);
      await owner.page.click(`a[href="/app/w/${workspaceId}"]`);
      await owner.page.waitForURL(`${web.url}/app/w/${workspaceId}`);
    };
    await openWorkspace();
    const members = owner.page.locator('section[aria-labelledby=members-title]');
    expect(await members.locator(`tr[data-member="${OWNER}"]`).textContent()).toContain('Olive Owner');

    // Invite two people; each shows as a pending invitation, and neither is a member yet.
    for (const [email, role] of [
      [INVITEE, 'operator'],
      [DECLINER, 'viewer'],
    ] as const) {
      await members.locator('input[name=invite-email]').fill(email);
      await members.locator('select[name=invite-role]').selectOption(role);
      await members.locator('button[type=submit]').click();
      await members.locator(`tr[data-invitation="${email}"]`).waitFor();
      expect(await members.locator('[role=status]').textContent()).toContain(`Invitation sent to ${email}`);
      expect(await members.locator(`tr[data-invitation="${email}"]`).textContent()).toContain(role);
    }
    expect(await roleIn(INVITEE)).toBeNull();

    // The invitee sees it on /app and accepts: the workspace opens with the invited role.
    const invitee = await loggedInPage(INVITEE);
    const panel = invitee.page.locator('section[aria-labelledby=invitations-title]');
    expect(await panel.textContent()).toContain('Team Olive');
    expect(await panel.textContent()).toContain('Olive Owner');
    await panel.locator('button', { hasText: 'Accept' }).click();
    await invitee.page.waitForURL(`${web.url}/app/w/${workspaceId}`);
    expect(await invitee.page.locator('.meta strong').textContent()).toBe('operator');
    expect(await roleIn(INVITEE)).toBe('operator');
    // Not an admin: no members section, but a way to leave.
    expect(await invitee.page.locator('section[aria-labelledby=members-title]').count()).toBe(0);
    expect(await invitee.page.locator('button', { hasText: 'Leave workspace' }).count()).toBe(1);

    // The other declines: the panel empties, no membership.
    const decliner = await loggedInPage(DECLINER);
    await decliner.page.locator('section[aria-labelledby=invitations-title] button', { hasText: 'Decline' }).click();
    await decliner.page.locator('section[aria-labelledby=invitations-title]').waitFor({ state: 'detached' });
    expect(await roleIn(DECLINER)).toBeNull();

    // The owner sees the new member, changes their role, then removes them.
    await openWorkspace();
    const row = members.locator(`tr[data-member="${INVITEE}"]`);
    await row.waitFor();
    expect(await members.locator(`tr[data-invitation="${DECLINER}"]`).count()).toBe(0);
    const [changed] = await Promise.all([
      owner.page.waitForResponse((response) => response.request().method() === 'PATCH'),
      row.locator('select').selectOption('viewer'),
    ]);
    expect(changed.status()).toBe(200);
    expect(await roleIn(INVITEE)).toBe('viewer');
    await row.locator('button', { hasText: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await roleIn(INVITEE)).toBeNull();

    // The last owner's Leave is refused with the API's reason, and nothing changes.
    await members.locator(`tr[data-member="${OWNER}"] button`, { hasText: 'Leave' }).click();
    expect(await members.locator('[role=alert]').textContent()).toContain('last owner');
    expect(await roleIn(OWNER)).toBe('owner');

    for (const { errors } of [owner, invitee, decliner]) expect(errors).toEqual([]);
  });

  it('changes the password on the account page: a weak one is refused, the other sessions end', async () => {
    const email = 'pat.password@example.com';
    expect((await api('/api/auth/signup', { body: { email, password: PASSWORD } })).status).toBe(201);
    const elsewhere = (await api('/api/auth/login', { body: { email, password: PASSWORD } })).body.token;
    const { page, errors } = await loggedInPage(email);
    await page.click('header a[href="/app/account"]');
    await page.waitForURL(`${web.url}/app/account`);
    const form = page.locator('section[aria-labelledby=password-title]');

    await form.locator('input[name=current-password]').fill(PASSWORD);
    await form.locator('input[name=new-password]').fill('iloveyou');
    await form.locator('button[type=submit]').click();
    expect(await form.locator('[role=alert]').textContent()).toContain('newPassword: this password is too common');

    await form.locator('input[name=new-password]').fill('a much better passphrase');
    await form.locator('button[type=submit]').click();
    await form.locator('[role=status]').waitFor();
    expect(await form.locator('[role=status]').textContent()).toContain('Password changed');
    // This browser stays logged in; the other session ended; the new password works.
    await page.goto(`${web.url}/app`);
    expect(page.url()).toBe(`${web.url}/app`);
    expect((await api('/api/me', { token: elsewhere })).status).toBe(401);
    expect((await api('/api/auth/login', { body: { email, password: 'a much better passphrase' } })).status).toBe(200);
    expect(errors).toEqual([]);
  });
});
