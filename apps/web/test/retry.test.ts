import { emailAgent } from '@strata/agents';
import { NonRetryableError } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Issue 13, re-runs in the dashboard: "Retry from failure" on a failed or cancelled run (operators
 * and above), its choice to run everything again, and the tasks a re-run carried over marked in
 * the table and the drawer. A real browser, the built app, a real worker with the real email agent.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;
const tokens: Record<'owner' | 'operator' | 'viewer', string> = { owner: '', operator: '', viewer: '' };
const PASSWORD = 'a re-run password';
/** Task keys whose (content) agent fails while listed. */
const failing = new Set<string>();

async function api<T = Record<string, unknown>>(path: string, body?: unknown, token = tokens.owner, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  const response = await fetch(`${web.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function pageAs(who: keyof typeof tokens): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await newCheckedPage(browser);
  await page.context().addCookies([{ name: 'strata_session', value: tokens[who], url: web.url }]);
  return { page, errors };
}

/** mail (the real email agent) -> write (fails while listed) -> wrap; the run fails after the mail went out. */
async function failedRun(name: string): Promise<{ strategyId: string; executionId: string }> {
  failing.add(`${name}-write`);
  const strategyId = (
    await api<{ strategy: { id: string } }>('/api/strategies', {
      workspaceId,
      name,
      items: [
        { key: 'mail', description: 'Tell the team', agentType: 'email', input: { to: ['team@example.com'], subject: `${name}: we start`, body: 'Starting now.' } },
        { key: `${name}-write`, description: 'Write the post', agentType: 'content', dependsOn: ['mail'], input: { prompt: 'Write it' } },
        { key: 'wrap', description: 'Wrap up', agentType: 'content', dependsOn: [`${name}-write`], input: { prompt: 'Wrap it' } },
      ],
    })
  ).strategy.id;
  const executionId = (await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId })).executionId;
  await h.waitForStatus(executionId, ['failed']);
  failing.delete(`${name}-write`);
  return { strategyId, executionId };
}

const outboxCount = async (subject: string) => (await h.database.sql<{ n: number }[]>`select count(*)::int as n from email_outbox where subject = ${subject}`)[0]!.n;
const executionIdOf = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 100, maxMs: 200 } });
  h.registry.register('content', async ({ task }) => {
    if (failing.has(task.key)) throw new NonRetryableError(`cannot write ${task.key}`);
    return { provider: 'template', kind: 'post', text: `# ${task.key}` };
  });
  const config = { SMTP_URL: undefined, SMTP_FROM: 'Strata <strata@localhost>', LLM_BASE_URL: undefined, LLM_MODEL: undefined, LLM_API_KEY: undefined, AGENT_FETCH_ALLOW_HOSTS: [] };
  h.registry.register('email', emailAgent({ config, db: h.database.db }));
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url, RATE_LIMIT_STATUS_PER_MIN: '1000', RATE_LIMIT_START_PER_MIN: '1000', RATE_LIMIT_CONTROL_PER_MIN: '1000' });
  browser = await launchBrowser();
  for (const who of ['owner', 'operator', 'viewer'] as const) {
    tokens[who] = (await api<{ token: string }>('/api/auth/signup', { email: `${who}@example.com`, password: PASSWORD, name: who }, '')).token;
  }
  workspaceId = (await api<{ workspace: { id: string } }>('/api/workspaces', { name: 'Re-runs' })).workspace.id;
  for (const role of ['operator', 'viewer'] as const) {
    const [user] = await h.database.sql<{ id: string }[]>`select id from users where email = ${`${role}@example.com`}`;
    await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${user!.id}, ${role})`;
  }
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('re-running from the execution view', () => {
  it('retries from the failure: the new run opens, the mail is carried over (not sent again) and marked so in the table and the drawer', async () => {
    const { executionId } = await failedRun('launch');
    expect(await outboxCount('launch: we start')).toBe(1);
    const { page, errors } = await pageAs('operator');
    await page.goto(`${web.url}/app/executions/${executionId}`);
    await page.locator('[data-execution-status="failed"]').waitFor();
    // A failed run has no pause/resume/cancel, only the re-run.
    expect(await page.locator('[data-action]').count()).toBe(0);
    await page.click('[data-retry]');
    const dialog = page.locator('[data-retry-dialog]');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('the 1 task that completed is carried over');
    expect(await page.locator('[data-retry-mode="failed"]').isChecked()).toBe(true);
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'retry-dialog', { fullPage: false });
    await page.click('[data-retry-start]');

    await page.waitForURL((url) => url.pathname.startsWith('/app/executions/') && !url.pathname.endsWith(executionId));
    const retryId = executionIdOf(page);
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    const [row] = await h.database.sql<{ retry_of: string; trigger: string }[]>`select retry_of, trigger from executions where id = ${retryId}`;
    expect(row).toEqual({ retry_of: executionId, trigger: 'retry' });
    // Carried over: marked in the table; the tasks that ran are not.
    expect(await page.locator('[data-task="mail"] [data-reused]').textContent()).toBe('carried over');
    expect(await page.locator('[data-task="launch-write"] [data-reused]').count()).toBe(0);
    expect(await page.locator('[data-task="wrap"][data-task-status="completed"]').count()).toBe(1);
    expect(await outboxCount('launch: we start')).toBe(1);

    // The drawer says where it came from, with its result (the message in the outbox) and no attempt.
    await page.click('[data-open-task="mail"]');
    const drawer = page.locator('[data-drawer="mail"]');
    expect(await drawer.locator('[data-drawer-reused]').textContent()).toContain('Carried over from');
    expect(await drawer.textContent()).toContain('None in this run: carried over.');
    await drawer.locator('[data-output="email"] pre', { hasText: 'Starting now.' }).waitFor();
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'retry-drawer', { fullPage: false });
    await drawer.locator(`[data-reused-from="${executionId}"]`).click();
    await page.waitForURL(`${web.url}/app/executions/${executionId}`);
    await page.locator('[data-execution-status="failed"]').waitFor();
    expect(errors).toEqual([]);
  });

  it('runs everything again when asked: the mail goes out a second time, nothing is marked carried over', async () => {
    const { executionId } = await failedRun('again');
    const { page, errors } = await pageAs('owner');
    await page.goto(`${web.url}/app/executions/${executionId}`);
    await page.click('[data-retry]');
    await page.check('[data-retry-mode="all"]');
    expect(await page.locator('[data-retry-start]').textContent()).toBe('Run everything again');
    await page.click('[data-retry-start]');
    await page.waitForURL((url) => !url.pathname.endsWith(executionId));
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-reused]').count()).toBe(0);
    expect(await outboxCount('again: we start')).toBe(2);
    expect(errors).toEqual([]);
  });

  it('is offered to operators on failed and cancelled runs only, never to viewers, and says why the engine refuses', async () => {
    const { executionId, strategyId } = await failedRun('offer');
    const viewer = await pageAs('viewer');
    await viewer.page.goto(`${web.url}/app/executions/${executionId}`);
    await viewer.page.locator('[data-execution-status="failed"]').waitFor();
    expect(await viewer.page.locator('[data-retry]').count()).toBe(0);

    // A cancelled run is offered one too, once it has settled.
    const cancelled = (await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId })).executionId;
    await api(`/api/executions/${cancelled}/cancel`, {});
    await h.waitForStatus(cancelled, ['cancelled']);
    const { page, errors } = await pageAs('operator');
    await page.goto(`${web.url}/app/executions/${cancelled}`);
    await page.locator('[data-execution-status="cancelled"]').waitFor();
    expect(await page.locator('[data-retry]').count()).toBe(1);
    // A completed run (here, a re-run that went through) is not.
    const rerun = (await api<{ executionId: string }>(`/api/executions/${executionId}/retry`, {}, tokens.operator)).executionId;
    await h.waitForStatus(rerun, ['completed']);
    await page.goto(`${web.url}/app/executions/${rerun}`);
    await page.locator('[data-execution-status="completed"]').waitFor();
    expect(await page.locator('[data-retry]').count()).toBe(0);

    // The engine's refusal reads in the dialog: the strategy was archived meanwhile.
    await page.goto(`${web.url}/app/executions/${executionId}`);
    await page.locator('[data-execution-status="failed"]').waitFor();
    await api(`/api/strategies/${strategyId}`, {}, tokens.owner, 'DELETE');
    await page.click('[data-retry]');
    await page.click('[data-retry-start]');
    expect(await page.locator('[data-retry-error]').textContent()).toBe(`Strategy ${strategyId} is archived`);
    expect(executionIdOf(page)).toBe(executionId);
    expect(errors).toEqual([]);
  });
});
