import { approvalAgent } from '@strata/agents';
import { agentConfig } from '@strata/agents/testing';
import { createEngineHarness, type EngineHarness, until } from '@strata/engine/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { callJson } from './json-api.ts';
import { startWeb, type RunningWeb } from './server.ts';

/**
 * Approvals in a real browser, on a real database, with the real approval agent: the workspace's
 * inbox follows new approvals live, viewers see them without buttons, an operator approves in
 * the execution view (with a comment) and rejects from the inbox, and the runs go on.
 */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;
const tokens: Record<'operator' | 'viewer', string> = { operator: '', viewer: '' };
const PASSWORD = 'an approvals password';

const api = <T = Record<string, unknown>>(path: string, body?: unknown, token = tokens.operator): Promise<T> => callJson<T>(web.url, token, path, body);

async function pageAs(who: 'operator' | 'viewer'): Promise<{ page: Page; errors: string[]; loads: () => number }> {
  const { page, errors } = await newCheckedPage(browser);
  await page.context().addCookies([{ name: 'strata_session', value: tokens[who], url: web.url }]);
  let loads = 0;
  page.on('load', () => loads++);
  return { page, errors, loads: () => loads };
}

/** Starts a run whose first task asks `prompt`; the task after it runs once approved. */
async function startGated(name: string, prompt: string): Promise<string> {
  const items = [
    { key: 'sign-off', description: 'Sign off the mailing', agentType: 'approval', input: { prompt, details: { recipients: 1200, list: 'subscribers' }, timeoutSeconds: 3600 } },
    { key: 'send', description: 'Send the mailing', agentType: 'content', input: { prompt: 'Write it' }, dependsOn: ['sign-off'] },
  ];
  const strategyId = (await api<{ strategy: { id: string } }>('/api/strategies', { workspaceId, name, items })).strategy.id;
  return (await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId })).executionId;
}

type StatusTask = { key: string; status: string; result?: unknown; error?: string | null };
const taskOf = async (executionId: string, key: string) =>
  (await api<{ tasks: StatusTask[] }>(`/api/executions/${executionId}/status?include=detail,results`)).tasks.find((t) => t.key === key)!;

beforeAll(async () => {
  h = await createEngineHarness();
  h.registry.register('approval', approvalAgent({ config: agentConfig(), db: h.database.db }));
  h.registry.register('content', ({ task }) => ({ provider: 'template', kind: 'post', text: `# ${task.key}` }));
  await h.startWorker();
  web = await startWeb({ DATABASE_URL: h.database.url, RATE_LIMIT_STATUS_PER_MIN: '1000', RATE_LIMIT_START_PER_MIN: '1000', RATE_LIMIT_CONTROL_PER_MIN: '1000' });
  browser = await launchBrowser();
  tokens.operator = (await api<{ token: string }>('/api/auth/signup', { email: 'grace@example.com', password: PASSWORD, name: 'Grace' }, '')).token;
  tokens.viewer = (await api<{ token: string }>('/api/auth/signup', { email: 'vic@example.com', password: PASSWORD, name: 'Vic' }, '')).token;
  workspaceId = (await api<{ workspace: { id: string } }>('/api/workspaces', { name: 'Newsletter' })).workspace.id;
  // Grace created the workspace (owner); she answers as an operator would. Vic only reads.
  const [viewer] = await h.database.sql<{ id: string }[]>`select id from users where email = 'vic@example.com'`;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${viewer!.id}, 'viewer')`;
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('approvals in the dashboard', () => {
  it('shows new approvals in the inbox live, read-only to a viewer; an operator approves in the execution view and rejects from the inbox', async () => {
    const first = await startGated('Monthly mailing', 'Send the November mailing?');
    const { page, errors, loads } = await pageAs('operator');
    await page.goto(`${web.url}/app/w/${workspaceId}`);
    const firstCard = page.locator('[data-approvals] [data-approval]', { hasText: 'Send the November mailing?' });
    await firstCard.waitFor();
    expect(await firstCard.locator('[data-approval-details]').textContent()).toContain('"recipients": 1200');
    expect(await firstCard.textContent()).toMatch(/Rejected at .+ if unanswered/);

    // A run started after the page loaded asks too: the inbox shows it without a reload.
    const second = await startGated('Flash sale', 'Announce the flash sale?');
    const secondCard = page.locator('[data-approvals] [data-approval]', { hasText: 'Announce the flash sale?' });
    await secondCard.waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-approvals-count]').textContent()).toBe('2 waiting');
    expect(await seriousA11yProblems(page)).toEqual([]);

    // A viewer sees the approval in the execution view, with no way to answer it.
    const viewer = await pageAs('viewer');
    await viewer.page.goto(`${web.url}/app/executions/${first}`);
    const viewerBanner = viewer.page.locator('[data-approval-banner] [data-approval]');
    await viewerBanner.waitFor();
    expect(await viewerBanner.locator('[data-approval-readonly]').count()).toBe(1);
    expect(await viewerBanner.locator('[data-answer]').count()).toBe(0);
    expect(viewer.errors).toEqual([]);

    // The operator approves the first run in its execution view, with a comment: the banner goes and the run completes.
    const execution = await pageAs('operator');
    await execution.page.goto(`${web.url}/app/executions/${first}`);
    const banner = execution.page.locator('[data-approval-banner] [data-approval]');
    await banner.waitFor();
    expect(await seriousA11yProblems(execution.page)).toEqual([]);
    // The task's drawer offers the same answer.
    await execution.page.click('[data-open-task="sign-off"]');
    const drawer = execution.page.locator('[data-drawer="sign-off"]');
    await drawer.locator('[data-approval]').waitFor();
    expect(await drawer.locator('[data-approval] [data-answer]').count()).toBe(2);
    await execution.page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'detached' });
    await banner.locator('[data-approval-comment]').fill('List checked');
    await banner.locator('[data-answer="approve"]').click();
    await execution.page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await execution.page.locator('[data-approval-banner]').count()).toBe(0);
    expect((await taskOf(first, 'sign-off')).result).toMatchObject({ approved: true, comment: 'List checked', by: { email: 'grace@example.com', name: 'Grace' } });
    expect((await taskOf(first, 'send')).status).toBe('completed');
    expect(execution.errors).toEqual([]);

    // Back in the inbox (still the first load), the answered approval has gone; the other is rejected from here.
    await until('the answered approval left the inbox', async () => (await firstCard.count()) === 0);
    await secondCard.locator('[data-answer="reject"]').click();
    await page.locator('[data-approvals-empty]').waitFor();
    await until('the second run failed', async () => (await api<{ execution: { status: string } }>(`/api/executions/${second}`)).execution.status === 'failed');
    expect((await taskOf(second, 'sign-off')).error).toBe('Rejected by Grace <grace@example.com>');
    expect((await taskOf(second, 'send')).status).toBe('skipped');
    expect(loads()).toBe(1);
    expect(errors).toEqual([]);
  });
});
