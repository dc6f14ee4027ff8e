import { readFile } from 'node:fs/promises';
import { emailAgent, researchAgent } from '@strata/agents';
import { newId } from '@strata/db';
import { NonRetryableError } from '@strata/engine';
import { createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveScreenshot, seriousA11yProblems } from './axe.ts';
import { launchBrowser, newCheckedPage } from './browser.ts';
import { callJson } from './json-api.ts';
import { startWeb, type RunningWeb } from './server.ts';

/** Issue 11: the execution view in a real browser, on a real database, following real runs. */
let h: EngineHarness;
let web: RunningWeb;
let browser: Browser;
let workspaceId: string;
const tokens: Record<'owner' | 'viewer' | 'outsider', string> = { owner: '', viewer: '', outsider: '' };
const PASSWORD = 'an execution password';
const ICS = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Launch review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';

const flaked = new Set<string>();
/** Gates that hold `content` tasks (by key) until the test opens them. */
const gates = keyedGates();
const gate = gates.gate;

const api = <T = Record<string, unknown>>(path: string, body?: unknown, token = tokens.owner): Promise<T> => callJson<T>(web.url, token, path, body);

async function signup(email: string): Promise<string> {
  return (await api<{ token: string }>('/api/auth/signup', { email, password: PASSWORD, name: email.split('@')[0] }, '')).token;
}

/** Starts a strategy of these items; a content item gets the prompt the built-in agent's schema asks for. */
async function start(name: string, items: { key: string; description: string; agentType: string; input?: Record<string, unknown>; dependsOn?: string[] }[], extra: Record<string, unknown> = {}): Promise<string> {
  items = items.map((item) => (item.agentType === 'content' ? { ...item, input: { prompt: 'Write it', ...item.input } } : item));
  const strategyId = (await api<{ strategy: { id: string } }>('/api/strategies', { workspaceId, name, items, ...extra })).strategy.id;
  return (await api<{ executionId: string }>('/api/executions/start', { strategyId, workspaceId })).executionId;
}

/** A logged-in page (the session cookie of `who`), counting full page loads so a test can prove it never reloaded. */
async function pageAs(who: 'owner' | 'viewer' | 'outsider', viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[]; loads: () => number }> {
  const { page, errors } = await newCheckedPage(browser);
  await page.setViewportSize(viewport);
  await page.context().addCookies([{ name: 'strata_session', value: tokens[who], url: web.url }]);
  let loads = 0;
  page.on('load', () => loads++);
  return { page, errors, loads: () => loads };
}

const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent())?.trim() ?? '';

beforeAll(async () => {
  h = await createEngineHarness({ retry: { baseMs: 100, maxMs: 200 } });
  h.registry.register('content', async ({ task }) => {
    if (task.input.hold) await gate(`${task.executionId}:${task.key}`).promise;
    if (task.input.sleepMs) await new Promise((resolve) => setTimeout(resolve, Number(task.input.sleepMs)));
    if (task.input.fail) throw new NonRetryableError(`cannot write ${task.key}: ${String(task.input.fail)}`);
    if (task.input.flaky && !flaked.has(task.id)) {
      flaked.add(task.id);
      throw new Error('the first attempt times out');
    }
    return { provider: 'template', kind: 'post', text: `# ${task.key}\n\nWritten for the launch.` };
  });
  h.registry.register('analysis', () => ({ table: { columns: ['group', 'count'], rows: [['EU', 3], ['US', 5]] }, recordCount: 8 }));
  h.registry.register('scheduling', () => ({ ics: ICS, filename: 'launch-review.ics', events: [{ title: 'Launch review' }] }));
  await h.startWorker({ defaultQueue: { batchSize: 1, localConcurrency: 4 } });
  web = await startWeb({ DATABASE_URL: h.database.url, RATE_LIMIT_STATUS_PER_MIN: '1000', RATE_LIMIT_START_PER_MIN: '1000', RATE_LIMIT_CONTROL_PER_MIN: '1000' });
  // The real email agent (no SMTP: it keeps the mail in the outbox) and the real research agent,
  // allowed to read this app's own landing page.
  const config = { SMTP_URL: undefined, SMTP_FROM: 'Strata <strata@localhost>', LLM_BASE_URL: undefined, LLM_MODEL: undefined, LLM_API_KEY: undefined, AGENT_FETCH_ALLOW_HOSTS: [new URL(web.url).host] };
  h.registry.register('email', emailAgent({ config, db: h.database.db }));
  h.registry.register('research', researchAgent({ config, db: h.database.db }));
  browser = await launchBrowser();
  tokens.owner = await signup('owner@example.com');
  tokens.viewer = await signup('viewer@example.com');
  tokens.outsider = await signup('outsider@example.com');
  workspaceId = (await api<{ workspace: { id: string } }>('/api/workspaces', { name: 'Launch team' })).workspace.id;
  const [viewer] = await h.database.sql<{ id: string }[]>`select id from users where email = 'viewer@example.com'`;
  await h.database.sql`insert into memberships (workspace_id, user_id, role) values (${workspaceId}, ${viewer!.id}, 'viewer')`;
});
afterAll(async () => {
  for (const g of gates.all()) g.resolve();
  await browser?.close();
  await web?.stop();
  await h?.close();
});

describe('the execution view', () => {
  it('follows a run live to 100 % without a reload, shows each output in the drawer, and has no serious accessibility violation', async () => {
    const { page, errors, loads } = await pageAs('owner');
    const id = await start('Launch', [
      { key: 'research', description: 'Draft the launch post', agentType: 'content', input: { hold: true } },
      { key: 'numbers', description: 'Count sign-ups by region', agentType: 'analysis', input: { fields: ['count'] }, dependsOn: ['research'] },
      { key: 'review', description: 'Book the launch review', agentType: 'scheduling', input: { title: 'Launch review', start: '2030-01-07T10:00:00Z' }, dependsOn: ['research'] },
      { key: 'post', description: 'Write the announcement', agentType: 'content', dependsOn: ['numbers', 'review'] },
      { key: 'announce', description: 'Mail the team', agentType: 'email', input: { to: ['team@example.com'], subject: 'We launched', body: 'The post is out.' }, dependsOn: ['post'] },
      { key: 'reading', description: 'Read our own landing page', agentType: 'research', input: { urls: [`${web.url}/`] }, dependsOn: ['research'] },
    ]);
    await page.goto(`${web.url}/app/executions/${id}`);
    await page.locator('[data-connection="live"]').waitFor();
    expect(await text(page, '[data-progress-percent]')).toBe('0%');
    expect(await text(page, '[data-execution-status]')).toBe('running');
    await page.locator('[data-slot="dag"] [data-node-id][data-status="in_progress"][aria-label^="research content"]').waitFor();

    gate(`${id}:research`).resolve();
    await page.locator('[data-progress-percent="100"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-execution-status="completed"]').waitFor();
    expect(loads()).toBe(1);
    expect(await text(page, '[data-count="completed"]')).toBe('6 / 6');
    expect(await text(page, '[data-run-label]')).toBe('completed');
    // The final health/metrics pair arrived live: the gauge and the agents agree with the tasks.
    expect(await text(page, '[data-stat="Health"]')).toBe('100');
    expect(await page.locator('[data-health-tone]').getAttribute('data-health-tone')).toBe('ok');
    expect(await text(page, '[data-agent="content"] [data-agent-completed]')).toBe('2');
    // The timeline has a bar per task, and the log every event.
    expect(await page.locator('[data-timeline-task]').count()).toBe(6);
    expect(await page.locator('[data-timeline-task="post"] [data-bar-end="completed"]').count()).toBe(1);
    // The dependency graph, coloured live by status: six tasks, six edges; a node opens its task.
    const graph = page.locator('[data-slot="dag"]');
    expect(await graph.locator('[data-node-id][data-status="completed"]').count()).toBe(6);
    expect(await graph.locator('path.edge').count()).toBe(6);
    await graph.locator('[data-node-id][aria-label^="numbers analysis"]').click();
    await page.locator('[data-drawer="numbers"]').waitFor();
    await page.keyboard.press('Escape');
    // The table filters by agent and status, and searches.
    await page.selectOption('[data-filter="agent"]', 'content');
    await page.locator('[data-task-count="2"]').waitFor();
    await page.selectOption('[data-filter="agent"]', 'all');
    await page.fill('[data-filter="search"]', 'sign-ups');
    await page.locator('[data-task-count="1"]').waitFor();
    expect(await page.locator('[data-task]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task')))).toEqual(['numbers']);
    await page.fill('[data-filter="search"]', '');
    await page.selectOption('[data-filter="status"]', 'failed');
    expect(await text(page, '[data-task-count]')).toBe('0 of 6 tasks');
    await page.selectOption('[data-filter="status"]', 'all');

    // Outputs, rendered for what they are; the .ics downloads from the drawer without a reload.
    await page.click('[data-open-task="numbers"]');
    const drawer = page.locator('[data-drawer="numbers"]');
    expect(await drawer.locator('[data-analysis-table]').textContent()).toContain('EU');
    expect(JSON.parse((await drawer.locator('[data-input]').textContent()) ?? '')).toEqual({ fields: ['count'] });
    expect(await drawer.locator('[data-attempt]').count()).toBe(1);
    expect(await drawer.locator('.events li').count()).toBeGreaterThanOrEqual(3);
    await page.keyboard.press('Escape');
    await page.click('[data-open-task="review"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-drawer="review"] [data-download-ics]')]);
    expect(download.suggestedFilename()).toBe('launch-review.ics');
    expect(await readFile((await download.path())!, 'utf8')).toBe(ICS);
    await page.keyboard.press('Escape');
    await page.click('[data-open-task="post"]');
    expect(await page.locator('[data-drawer="post"] [data-content]').textContent()).toContain('Written for the launch.');
    await page.keyboard.press('Escape');
    await page.click('[data-open-task="announce"]');
    const mail = page.locator('[data-drawer="announce"] [data-output="email"]');
    expect(await mail.textContent()).toContain('We launched');
    await mail.locator('pre', { hasText: 'The post is out.' }).waitFor();
    await saveScreenshot(page, 'execution-drawer', { fullPage: false });
    await page.keyboard.press('Escape');
    await page.click('[data-open-task="reading"]');
    expect(await page.locator('[data-drawer="reading"] [data-output="research"] a').getAttribute('href')).toContain(new URL(web.url).host);
    await page.keyboard.press('Escape');

    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'execution-desktop');
    expect(loads()).toBe(1);

    // A later edit of the strategy (version 2) changes nothing this run shows: its tasks' inputs
    // are those of the version it ran.
    const [{ strategy_id: strategyId } = { strategy_id: '' }] = await h.database.sql<{ strategy_id: string }[]>`select strategy_id from executions where id = ${id}`;
    const current = await api<{ strategy: { name: string; items: { key: string; description: string; agentType: string; input: Record<string, unknown>; dependsOn: string[] }[] } }>(`/api/strategies/${strategyId}`);
    const edited = current.strategy.items.map(({ key, description, agentType, input, dependsOn }) => ({ key, description, agentType, dependsOn, input: key === 'numbers' ? { fields: ['total'] } : input }));
    const put = await fetch(`${web.url}/api/strategies/${strategyId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.owner}` },
      body: JSON.stringify({ name: current.strategy.name, items: edited }),
    });
    expect(put.status).toBe(200);
    await page.reload();
    await page.click('[data-open-task="numbers"]');
    expect(JSON.parse((await page.locator('[data-drawer="numbers"] [data-input]').textContent()) ?? '')).toEqual({ fields: ['count'] });
    expect(errors).toEqual([]);
  });

  it('a run with a failed task is never a plain green completed, and the failure reads as what it was', async () => {
    const { page, errors } = await pageAs('owner');
    const id = await start(
      'Partly broken',
      [
        { key: 'good', description: 'Fine on the second attempt', agentType: 'content', input: { flaky: true } },
        { key: 'bad', description: 'Broken input', agentType: 'content', input: { fail: 'no topic' } },
        { key: 'after-bad', description: 'Needs bad', agentType: 'content', dependsOn: ['bad'] },
      ],
      { onTaskFailure: 'continue' },
    );
    await page.goto(`${web.url}/app/executions/${id}`);
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await text(page, '[data-run-label]')).toBe('completed · 1 failed');
    expect(await page.locator('[data-health-tone]').getAttribute('data-health-tone')).not.toBe('ok');
    const bad = page.locator('[data-task="bad"]');
    expect(await bad.textContent()).toContain('failed without retrying');
    expect(await bad.textContent()).not.toMatch(/exhausting retries/);
    expect(await page.locator('[data-task="after-bad"] [data-skip-reason="dependency-failed"]').textContent()).toContain('a task it depends on failed');
    expect(await text(page, '[data-count="skipped"]')).toBe('1');
    // A retry is a bar of its own on the timeline.
    const good = page.locator('[data-timeline-task="good"]');
    expect(await good.getAttribute('data-attempts')).toBe('2');
    expect(await good.locator('[data-bar-end]').evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-bar-end')))).toEqual(['retry', 'completed']);
    expect(await page.locator('[data-task="good"]').textContent()).toContain('2 of 4');
    expect(errors).toEqual([]);
  });

  it('pauses a run (no task starts while paused) and resumes it to the end', async () => {
    const { page, errors } = await pageAs('owner');
    const keys = Array.from({ length: 8 }, (_, i) => `slow${i}`);
    const id = await start(
      'Slow',
      keys.map((key) => ({ key, description: key, agentType: 'content', input: { hold: true } })),
    );
    await page.goto(`${web.url}/app/executions/${id}`);
    await page.locator('[data-connection="live"]').waitFor();
    // The worker runs four at a time: four hold, four wait in the queue.
    await page.locator('[data-count="running"]', { hasText: /^4$/ }).waitFor({ timeout: 10_000 });
    expect(await page.locator('button[data-action=resume]').isDisabled()).toBe(true);
    await page.click('button[data-action=pause]');
    await page.locator('[data-execution-status="paused"]').waitFor();
    expect(await page.locator('button[data-action=pause]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-action=resume]').isEnabled()).toBe(true);
    // The four in flight finish; nothing else starts, though every task could now run at once.
    for (const key of keys) gate(`${id}:${key}`).resolve();
    await page.locator('[data-count="running"]', { hasText: /^0$/ }).waitFor({ timeout: 10_000 });
    await page.locator('[data-count="completed"]', { hasText: '4 / 8' }).waitFor();
    const [paused] = await h.database.sql<{ id: number }[]>`select max(id)::int as id from execution_events where execution_id = ${id} and type = 'execution-paused'`;
    const startedAfter = await h.database.sql`select id from execution_events where execution_id = ${id} and id > ${paused!.id} and type = 'task-progress' and data->>'status' = 'in_progress'`;
    expect(startedAfter).toHaveLength(0);
    expect(await page.locator('[data-task-status="in_progress"]').count()).toBe(0);

    await page.click('button[data-action=resume]');
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 20_000 });
    expect(await text(page, '[data-count="completed"]')).toBe('8 / 8');
    expect(errors).toEqual([]);
  });

  it('cancels only after confirming, and shows the skipped tasks with their reason', async () => {
    const { page, errors } = await pageAs('owner');
    const id = await start('To cancel', [
      { key: 'first', description: 'Held', agentType: 'content', input: { hold: true } },
      { key: 'second', description: 'After first', agentType: 'content', dependsOn: ['first'] },
      { key: 'third', description: 'After second', agentType: 'content', dependsOn: ['second'] },
    ]);
    await page.goto(`${web.url}/app/executions/${id}`);
    await page.locator('[data-task="first"][data-task-status="in_progress"]').waitFor();

    await page.click('button[data-action=cancel]');
    await page.locator('dialog[data-confirm="cancel"][open]').waitFor();
    await page.click('dialog[data-confirm="cancel"] button[value="keep"]');
    await page.locator('dialog[data-confirm="cancel"]:not([open])').waitFor({ state: 'attached' });
    expect(await text(page, '[data-execution-status]')).toBe('running');

    await page.click('button[data-action=cancel]');
    await page.click('[data-confirm-cancel]');
    // The held task finishes only once the cancel has committed: finishing first, it would start
    // `second` at once (eager dispatch), and an in-progress task runs to its end.
    await until('the cancel to commit', async () => {
      const [row] = await h.database.sql<{ status: string }[]>`select status from executions where id = ${id}`;
      return row?.status === 'cancelled';
    });
    gate(`${id}:first`).resolve();
    await page.locator('[data-execution-status="cancelled"]').waitFor({ timeout: 10_000 });
    for (const key of ['second', 'third']) {
      const row = page.locator(`[data-task="${key}"]`);
      await row.locator('[data-skip-reason="cancelled"]').waitFor();
      expect(await row.textContent()).toContain('the execution was cancelled before it started');
    }
    expect(await page.locator('[data-health-tone]').getAttribute('data-health-tone')).toBe('warn');
    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('shows a viewer no controls, and is usable at 390 px', async () => {
    const id = await start('Watched', [{ key: 'watched', description: 'Held for the viewer', agentType: 'content', input: { hold: true } }]);
    const { page, errors } = await pageAs('viewer', { width: 390, height: 844 });
    // The stream passes through the test, which can drop it and refuse it for a while.
    let refuse = false;
    let stream: WebSocketRoute | null = null;
    await page.routeWebSocket(/\/stream/, (ws) => {
      if (refuse) return void ws.close({ code: 1011, reason: 'refused by the test' });
      ws.connectToServer();
      stream = ws;
    });
    await page.route(/\/stream/, (route) => (refuse ? route.abort() : route.continue()));
    await page.goto(`${web.url}/app/executions/${id}`);
    await page.locator('[data-connection="live"]').waitFor();
    await page.locator('[data-task="watched"][data-task-status="in_progress"]').waitFor();
    expect(await page.locator('[role=group][aria-label="Execution controls"]').count()).toBe(0);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    // Status, progress and the way to a task's result are on screen; nothing overflows sideways.
    for (const selector of ['[data-execution-status]', '[data-progress-percent]', '[data-task="watched"] [data-status]', '[data-open-task="watched"]']) {
      expect(await page.locator(selector).first().isVisible(), selector).toBe(true);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // The duration ticks while the run runs.
    const before = await text(page, '[data-duration]');
    await page.waitForFunction((shown) => document.querySelector('[data-duration]')?.textContent?.trim() !== shown, before);
    // A lost connection shows, and recovers by itself.
    refuse = true;
    await (stream as WebSocketRoute | null)?.close({ code: 1001, reason: 'dropped by the test' });
    await page.locator('[data-connection="problem"]').waitFor();
    expect(await text(page, '[data-connection]')).toBe('connection lost · reconnecting…');
    refuse = false;
    await page.locator('[data-connection="live"]').waitFor({ timeout: 20_000 });
    gate(`${id}:watched`).resolve();
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 10_000 });
    await page.click('[data-open-task="watched"]');
    expect(await page.locator('[data-drawer="watched"] [data-content]').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await saveScreenshot(page, 'execution-390');
    expect(errors).toEqual([]);
  });

  it('answers a bad link with a 404 page and a forbidden one with a 403 page', async () => {
    const id = await start('Private', [{ key: 'only', description: 'Only', agentType: 'analysis', input: { fields: ['count'] } }]);
    const { page } = await pageAs('outsider');
    const forbidden = await page.goto(`${web.url}/app/executions/${id}`);
    expect(forbidden?.status()).toBe(403);
    expect(await text(page, 'h1')).toBe('You do not have access to this execution');
    for (const bad of [`exec_${Date.now()}_nosuchrun`, 'not-an-id', newId('task')]) {
      const missing = await page.goto(`${web.url}/app/executions/${bad}`);
      expect(missing?.status()).toBe(404);
      expect(await text(page, 'h1')).toBe('Execution not found');
    }
    expect(await page.locator('[data-connection]').count()).toBe(0);
  });
});
