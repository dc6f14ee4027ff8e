/**
 * The execution page in Chromium following a 5,000-task execution live: time to first render
 * (first contentful paint), time to interactive (the status, progress and task table are on
 * screen and a search in the table answers), and the longest frame while the run's events
 * stream in (animation-frame gaps and long animation frames). Targets: interactive < 2 s, no
 * frame > 100 ms. Writes bench/results/ui.json.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createDatabase } from '@strata/db';
import { PgBoss } from 'pg-boss';
import { chromium } from 'playwright-core';
import { benchDatabase, startAnalysisWorker, percentile, round, startBenchWeb, writeResult } from './support.ts';

const TASKS = Number(process.env.UI_BENCH_TASKS ?? 5000);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TARGETS = { time_to_interactive_ms: 2000, longest_frame_ms: 100 };

/** Runs in the page: records every animation-frame gap and every long animation frame from now on. */
function recordFrames() {
  const w = window as unknown as { __frames: number[]; __long: number[]; __script: number[]; __recording: boolean };
  w.__frames = [];
  w.__long = [];
  w.__script = [];
  w.__recording = true;
  let last = performance.now();
  const tick = (now: number) => {
    w.__frames.push(now - last);
    last = now;
    if (w.__recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // The page's own script time in the frame: what this code costs, apart from a busy machine.
        const scripts = (entry as unknown as { scripts?: { duration: number }[] }).scripts ?? [];
        w.__long.push(entry.duration);
        w.__script.push(scripts.reduce((sum, script) => sum + script.duration, 0));
      }
    }).observe({ type: 'long-animation-frame', buffered: false });
  } catch {
    // Older engines: the frame gaps alone.
  }
}

export async function run(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  const db = await benchDatabase();
  const web = await startBenchWeb(db.url);
  const boss = new PgBoss({ connectionString: db.url, useListenNotify: true, schedule: false });
  boss.on('error', () => {});
  const database = createDatabase(db.url);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const { token, workspaceId } = await web.account();
    // Ten independent chains of 500: work is ready at once, and finishing a task releases the next.
    const items = Array.from({ length: TASKS }, (_, i) => ({
      key: `t${i}`,
      description: `Task ${i}`,
      agentType: 'analysis',
      input: { fields: ['n'] },
      ...(i >= 10 ? { dependsOn: [`t${i - 10}`] } : {}),
    }));
    const { strategy } = await web.post('/api/strategies', { workspaceId, name: 'ui bench', items }, token);
    // Started with no worker: the page opens on a run of 5,000 waiting tasks, then follows it.
    const { executionId } = await web.post('/api/executions/start', { strategyId: strategy.id, workspaceId }, token);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: 'strata_session', value: token, url: web.base }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(`${web.base}/app/executions/${executionId}`, { waitUntil: 'commit' });
    await page.locator('[data-connection="live"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-task]').first().waitFor();
    // Interactive: a search in the table answers.
    await page.fill('[data-filter="search"]', `t${TASKS - 1}`);
    await page.locator('[data-task-count="1"]').waitFor();
    const interactiveAt = await page.evaluate(() => performance.now());
    const firstPaint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    await page.fill('[data-filter="search"]', '');
    await page.locator(`[data-task-count="${TASKS}"]`).waitFor();

    await page.evaluate(recordFrames);
    await boss.start();
    const started = Date.now();
    const worker = await startAnalysisWorker(boss, database.db, { n: 1 });
    await page.locator('[data-execution-status="completed"]').waitFor({ timeout: 600_000 });
    await page.locator('[data-progress-percent="100"]').waitFor();
    const streamedMs = Date.now() - started;
    await worker.stop();
    const frames = await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __long: number[]; __script: number[]; __recording: boolean };
      w.__recording = false;
      return { gaps: w.__frames, long: w.__long, script: w.__script, events: Number(document.querySelector('[data-filter="event-type"] option')?.textContent?.match(/\d+/)?.[0] ?? 0) };
    });
    const gaps = [...frames.gaps].sort((a, b) => a - b);
    const longest = Math.max(gaps.at(-1) ?? 0, ...frames.long);
    const result = {
      tasks: TASKS,
      events_streamed: frames.events,
      stream_duration_ms: streamedMs,
      time_to_first_render_ms: firstPaint === null ? null : round(firstPaint),
      time_to_interactive_ms: round(interactiveAt),
      longest_frame_ms: round(longest),
      frame_p50_ms: round(percentile(gaps, 50)),
      frame_p99_ms: round(percentile(gaps, 99)),
      frames: gaps.length,
      frames_over_100ms: gaps.filter((g) => g > 100).length,
      long_animation_frames: frames.long.length,
      longest_frame_script_ms: round(Math.max(0, ...frames.script)),
      load_average_1m: round(loadavg()[0] ?? 0),
      page_errors: errors,
      targets: TARGETS,
      meets_targets: interactiveAt < TARGETS.time_to_interactive_ms && longest <= TARGETS.longest_frame_ms,
    };
    writeResult('ui', result);
  } finally {
    await browser.close();
    await web.stop();
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    await database.close();
    await db.drop();
  }
}
