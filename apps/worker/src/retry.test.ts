import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { retryExecution, startExecution } from '@strata/engine';
import { assertExecutionInvariants, createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../test/processes.ts';

/**
 * Issue 13, re-runs: the built-in agents in a real worker process. A run that sent its email and
 * then failed is re-run; the email is carried over, not sent again (the outbox, where the email
 * agent keeps mail when SMTP_URL is unset, still holds one message), and the rest runs.
 */
let h: EngineHarness;
let site: Server;
let siteUrl: string;
let worker: WorkerProcess;
/** While true the page the research task reads answers 503. */
let down = true;

beforeAll(async () => {
  h = await createEngineHarness();
  site = createServer((req, res) => {
    if (req.url !== '/launch') return void res.writeHead(404).end();
    if (down) return void res.writeHead(503).end('Service unavailable');
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>Launch notes</title></head><body><main><p>Rocket ships today.</p></main></body></html>');
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  worker = await spawnWorker(h.database.url, { STRATA_AGENT_MODULES: '', AGENT_FETCH_ALLOW_HOSTS: '127.0.0.1', TASK_LEASE_SECONDS: '5' });
});
afterAll(async () => {
  await worker?.stop('SIGKILL');
  await new Promise((r) => site?.close(r));
  await h?.close();
});

const outbox = async (subject: string) =>
  h.database.sql<{ id: string; execution_id: string; task_id: string; to: string[] }[]>`select id, execution_id, task_id, "to" from email_outbox where subject = ${subject} order by created_at`;

describe('re-running with the built-in agents', () => {
  it('carries the sent email over (the outbox keeps one message) and runs what failed; mode all sends it again', async () => {
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [
      { key: 'mail', description: 'Tell the team', agentType: 'email', input: { to: ['team@example.com'], subject: 'Launch day', body: 'We launch today.' } },
      { key: 'read', description: 'Read the launch notes', agentType: 'research', dependsOn: ['mail'], maxRetries: 0, input: { urls: [`${siteUrl}/launch`] } },
      { key: 'post', description: 'Write the post', agentType: 'content', dependsOn: ['read'], input: { prompt: 'Announce the launch', kind: 'post' } },
    ]);
    const original = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const failed = await h.waitForStatus(original.id, ['failed'], 60_000);
    const byKey = (tasks: typeof failed.tasks) => Object.fromEntries(tasks.map((t) => [t.key, t]));
    const first = byKey(failed.tasks);
    expect([first.mail!.status, first.read!.status, first.post!.status]).toEqual(['completed', 'failed', 'skipped']);
    expect(first.read!.error).toMatch(/HTTP 503/);
    const sent = await outbox('Launch day');
    expect(sent).toEqual([{ id: (first.mail!.result as { outboxId: string }).outboxId, execution_id: original.id, task_id: first.mail!.id, to: ['team@example.com'] }]);

    down = false;
    const retry = await retryExecution(h.ctx, { executionId: original.id });
    const done = await h.waitForStatus(retry.id, ['completed'], 60_000);
    const again = byKey(done.tasks);
    expect(again.mail).toMatchObject({ status: 'completed', reused: true, started_at: null, result: first.mail!.result });
    expect(again.read).toMatchObject({ status: 'completed', reused: false });
    expect((again.read!.result as { sources: { title: string }[] }).sources[0]!.title).toBe('Launch notes');
    expect(again.post).toMatchObject({ status: 'completed', reused: false });
    // Not sent twice: still the one message, the original's.
    expect(await outbox('Launch day')).toEqual(sent);
    await assertExecutionInvariants(h.database, retry.id, { requireFinished: true });

    // Everything again: the email is sent a second time, by the new execution.
    const all = await retryExecution(h.ctx, { executionId: original.id, mode: 'all' });
    const rerun = byKey((await h.waitForStatus(all.id, ['completed'], 60_000)).tasks);
    expect(rerun.mail).toMatchObject({ status: 'completed', reused: false });
    const twice = await outbox('Launch day');
    expect(twice).toHaveLength(2);
    expect(twice[1]).toMatchObject({ execution_id: all.id, task_id: rerun.mail!.id });
    await assertExecutionInvariants(h.database, all.id, { requireFinished: true });
  });
});
