import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStrategy, startExecution } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../test/processes.ts';

/** The built-in agents in a real worker process (no test agents), against local peers. */
let h: EngineHarness;
let site: Server;
let siteUrl: string;
const workers: WorkerProcess[] = [];

const PAGE = `<!doctype html><html><head><title>Acme launches Rocket</title>
<meta name="description" content="Acme's new product, Rocket, ships today."></head>
<body><nav>Home | About</nav><main><h1>Rocket</h1><p>Rocket cuts onboarding time by 40 percent.</p>
<p>Pricing starts at 49 dollars a month.</p></main><footer>(c) Acme</footer></body></html>`;

beforeAll(async () => {
  h = await createEngineHarness();
  site = createServer((req, res) => {
    if (req.url === '/rocket') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (req.url === '/long') return void res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>${'Rocket cuts onboarding time. '.repeat(400)}</p>`);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  await new Promise((r) => site.close(r));
  await h?.close();
});

function builtInWorker(env: Record<string, string> = {}) {
  return spawnWorker(h.database.url, { STRATA_AGENT_MODULES: '', AGENT_FETCH_ALLOW_HOSTS: '127.0.0.1', TASK_LEASE_SECONDS: '5', ...env });
}

describe('the built-in agents, end to end through a worker process', () => {
  it('runs research -> content -> email, analysis over research, scheduling and a waiting coordination fan-in', async () => {
    workers.push(await builtInWorker());
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'research', description: 'Research the launch', agentType: 'research', input: { urls: [`${siteUrl}/rocket`], keywords: ['percent'] } },
      { key: 'content', description: 'Write the post', agentType: 'content', dependsOn: ['research'], input: { prompt: 'Announce Rocket to our customers', kind: 'post' } },
      { key: 'email', description: 'Email it', agentType: 'email', dependsOn: ['content', 'research'], input: { to: ['team@example.com'], subject: 'Launch: {{deps.research.sources.0.title}}', template: '{{deps.content.text}}' } },
      { key: 'analysis', description: 'Analyse the sources', agentType: 'analysis', dependsOn: ['research'], input: { path: 'sources', fields: ['status'] } },
      { key: 'schedule', description: 'Kickoff call', agentType: 'scheduling', input: { title: 'Rocket kickoff', start: '2030-01-15T15:00:00Z', durationMinutes: 30, attendees: [{ email: 'pm@example.com' }] } },
      { key: 'wrap', description: 'Wrap up', agentType: 'coordination', dependsOn: ['email', 'analysis', 'schedule'], input: { waitSeconds: 1 } },
    ]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed', 'failed'], 90_000);
    const byKey = Object.fromEntries(done.tasks.map((t) => [t.key, t])) as Record<string, { status: string; result: Record<string, unknown>; error: string | null }>;
    expect(done.execution.status, JSON.stringify(done.tasks.map((t) => [t.key, t.status, t.error]))).toBe('completed');
    const research = byKey.research!.result as { sources: { title: string; description: string; text: string; highlights: string[] }[] };
    expect(research.sources[0]).toMatchObject({ title: 'Acme launches Rocket', description: "Acme's new product, Rocket, ships today." });
    expect(research.sources[0]!.text).toContain('40 percent');
    expect(research.sources[0]!.text).not.toContain('(c) Acme');
    expect(byKey.content!.result).toMatchObject({ provider: 'template', kind: 'post' });
    expect(String(byKey.content!.result.text)).toContain('Rocket');
    expect(byKey.email!.result).toMatchObject({ delivered: 'outbox', subject: 'Launch: Acme launches Rocket' });
    const [mail] = await h.database.sql`select "to", subject, text from email_outbox where task_id = ${done.tasks.find((t) => t.key === 'email')!.id}`;
    expect(mail).toMatchObject({ to: ['team@example.com'], subject: 'Launch: Acme launches Rocket' });
    expect(String(mail?.text)).toContain('Rocket');
    expect(JSON.stringify(byKey.analysis!.result)).toContain('status');
    expect(String(byKey.schedule!.result.ics)).toContain('BEGIN:VEVENT');
    // Coordination names its dependencies' results (by task id, size and summary) instead of copying them.
    const wrap = byKey.wrap!.result as { dependencies: { key: string; taskId: string; resultBytes: number; summary: string }[]; waited: boolean };
    expect(wrap.dependencies.map((d) => d.key).sort()).toEqual(['analysis', 'email', 'schedule']);
    const email = wrap.dependencies.find((d) => d.key === 'email')!;
    expect(email.taskId).toBe(done.tasks.find((t) => t.key === 'email')!.id);
    expect(email.resultBytes).toBe(Buffer.byteLength(JSON.stringify(byKey.email!.result)));
    expect(email.summary).toMatch(/^object with keys: /);
    expect(JSON.stringify(wrap)).not.toContain('BEGIN:VEVENT');
    expect(wrap.waited).toBe(true);
  });

  it('fails a result over TASK_RESULT_MAX_BYTES without retry', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    workers.push(await builtInWorker({ TASK_RESULT_MAX_BYTES: '4096' }));
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [{ key: 'long', description: 'A long page', agentType: 'research', input: { urls: [`${siteUrl}/long`] } }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed', 'failed'], 60_000);
    expect(done.tasks[0]).toMatchObject({ status: 'failed', retry_count: 0, result: null });
    expect(done.tasks[0]!.error).toMatch(/^Result too large: 1\d\.\d KiB \(limit 4 KiB, TASK_RESULT_MAX_BYTES\)$/);
  });

  it('keeps a coordination wait across a worker restart', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const first = await builtInWorker();
    workers.push(first); // stopped in afterAll if the test fails before it stops it
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [{ key: 'hold', description: 'Hold on', agentType: 'coordination', input: { waitSeconds: 3 } }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    for (let i = 0; i < 200; i++) {
      const [row] = await h.database.sql`select wake_at from tasks where execution_id = ${execution.id}`;
      if (row?.wake_at) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await first.stop()).toBe(0);
    workers.splice(workers.indexOf(first), 1);
    const second = await builtInWorker();
    workers.push(second);
    const done = await h.waitForStatus(execution.id, ['completed'], 30_000);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', result: expect.objectContaining({ waited: true }) });
  });

  it("parameterises a run: the execution's input fills an email's recipient, subject and text", async () => {
    if (workers.length === 0) workers.push(await builtInWorker());
    const ws = await h.workspace();
    const strategy = await createStrategy(h.database.db, {
      workspaceId: ws,
      name: 'Welcome a customer',
      inputSchema: { type: 'object', properties: { email: { type: 'string', format: 'email' }, name: { type: 'string' } }, required: ['email', 'name'] },
      items: [{ key: 'welcome', description: 'Welcome them', agentType: 'email', input: { to: '{{input.email}}', subject: 'Welcome, {{input.name}}', template: 'Hello {{input.name}}!' } }],
    });
    const execution = await startExecution(h.ctx, { strategyId: strategy.id, workspaceId: ws, input: { email: 'ann@example.com', name: 'Ann' } });
    const done = await h.waitForStatus(execution.id, ['completed', 'failed'], 60_000);
    expect(done.tasks[0], JSON.stringify(done.tasks[0])).toMatchObject({ status: 'completed' });
    const mails = await h.database.sql`select "to", subject, text from email_outbox where execution_id = ${execution.id}`;
    expect(mails.map((m) => ({ ...m }))).toEqual([{ to: ['ann@example.com'], subject: 'Welcome, Ann', text: 'Hello Ann!' }]);
  });

  it('runs a child strategy through the strategy agent (its email parameterised by the parent), and refuses one beyond STRATEGY_MAX_DEPTH', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    workers.push(await builtInWorker());
    const ws = await h.workspace();
    const child = await createStrategy(h.database.db, {
      workspaceId: ws,
      name: 'Notify',
      inputSchema: { type: 'object', properties: { to: { type: 'string', format: 'email' } }, required: ['to'] },
      items: [{ key: 'mail', description: 'Mail them', agentType: 'email', input: { to: '{{input.to}}', subject: 'Done', body: 'The report is ready.' } }],
    });
    const parentId = await h.strategy(ws, [{ key: 'notify', description: 'Notify the team', agentType: 'strategy', input: { strategyId: child.id, input: { to: 'team@example.com' } } }]);
    const execution = await startExecution(h.ctx, { strategyId: parentId, workspaceId: ws });
    const done = await h.waitForStatus(execution.id, ['completed', 'failed'], 60_000);
    expect(done.execution.status, JSON.stringify(done.tasks)).toBe('completed');
    const summary = done.tasks[0]!.result as { executionId: string; status: string; results: Record<string, { to: string[] }> };
    expect(summary).toMatchObject({ status: 'completed', results: { mail: { to: ['team@example.com'], delivered: 'outbox' } } });
    const mails = await h.database.sql`select "to" from email_outbox where execution_id = ${summary.executionId}`;
    expect(mails.map((m) => m.to)).toEqual([['team@example.com']]);

    // STRATEGY_MAX_DEPTH=0: no child at all, and the task fails without retry.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    workers.push(await builtInWorker({ STRATEGY_MAX_DEPTH: '0' }));
    const refused = await startExecution(h.ctx, { strategyId: parentId, workspaceId: ws });
    const failed = await h.waitForStatus(refused.id, ['completed', 'failed'], 60_000);
    expect(failed.tasks[0]).toMatchObject({
      status: 'failed',
      retry_count: 0,
      error: `The child execution of ${child.id} was not started: it would be nested 1 deep, and STRATEGY_MAX_DEPTH is 0`,
    });
  });
});
