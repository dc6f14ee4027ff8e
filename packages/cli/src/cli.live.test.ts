import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { approvalAgent } from '@strata/agents';
import { agentConfig } from '@strata/agents/testing';
import { createEngineHarness, type EngineHarness, keyedGates, until } from '@strata/engine/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { account, api, freePort, type Home, killRunning, makeHome, type RunningWeb, startWeb, strata, strataDone } from '../test/harness.ts';

/**
 * The command line against a running server: a real web process, a worker in this process with
 * test agents, and `strata` run as a child process the way a person runs it.
 */
let h: EngineHarness;
let web: RunningWeb;
let home: Home;
let token: string;
let workspaceId: string;
const gates = keyedGates();
const PASSWORD = 'command line secret';

beforeAll(async () => {
  h = await createEngineHarness();
  // Waits for the test when its input names a gate; fails when its input says so.
  h.registry.register('coordination', async ({ task }) => {
    const input = task.input as { gate?: string; fail?: string };
    if (input.gate) await gates.gate(input.gate).promise;
    if (input.fail) throw new Error(input.fail);
    return { key: task.key };
  });
  h.registry.register('approval', approvalAgent({ config: agentConfig(), db: h.database.db }));
  await h.startWorker();
  web = await startWeb(h.database.url);
  ({ token, workspaceId } = await account(web.url, 'cli@example.com', PASSWORD, 'Operations'));
  home = await makeHome();
}, 120_000);
afterEach(() => killRunning());
afterAll(async () => {
  for (const gate of gates.all()) gate.resolve();
  killRunning();
  await web?.stop();
  await h?.close();
  await home?.remove();
});

/** The environment of a user who passes the server and token in the environment. */
const envOf = (extra: Record<string, string> = {}) => ({ ...home.env, STRATA_URL: web.url, STRATA_TOKEN: token, STRATA_WORKSPACE: workspaceId, ...extra });

async function createStrategy(name: string, items: unknown[], extra: Record<string, unknown> = {}): Promise<string> {
  const { status, body } = await api<{ strategy: { id: string } }>(web.url, '/api/strategies', { body: { workspaceId, name, items, ...extra }, token });
  if (status !== 201) throw new Error(JSON.stringify(body));
  return body.strategy.id;
}

describe('strata login', () => {
  it('asks for the server, email and password, creates an API token and writes the config file 0600', async () => {
    const loginHome = await makeHome();
    try {
      const run = await strataDone(['login'], { env: loginHome.env, input: `${web.url}\ncli@example.com\n${PASSWORD}\n` });
      expect(run.stderr).toContain('Password: ');
      expect(run.stderr).not.toContain(PASSWORD);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Logged in to');
      expect((await stat(loginHome.configFile)).mode & 0o777).toBe(0o600);
      const config = JSON.parse(await readFile(loginHome.configFile, 'utf8'));
      expect(config).toEqual({ url: web.url, token: expect.stringMatching(/.{20,}/), tokenId: expect.stringMatching(/^tok_/), email: 'cli@example.com', workspace: workspaceId });
      // The saved token works on its own: no flag, no environment.
      const listed = await strataDone(['workspaces', '--json'], { env: loginHome.env });
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual({ workspaces: [{ id: workspaceId, name: 'Operations', role: 'owner', default: true }] });

      // Logging in again (with flags) replaces the token and revokes the old one.
      const again = await strataDone(['login', '--url', web.url, '--email', 'cli@example.com', '--password', PASSWORD, '--json'], { env: loginHome.env });
      expect(again.code).toBe(0);
      const second = JSON.parse(await readFile(loginHome.configFile, 'utf8'));
      expect(JSON.parse(again.stdout)).toMatchObject({ tokenId: second.tokenId, workspace: workspaceId });
      expect(second.tokenId).not.toBe(config.tokenId);
      expect((await api(web.url, '/api/me', { token: config.token })).status).toBe(401);
      expect((await api(web.url, '/api/me', { token: second.token })).status).toBe(200);
    } finally {
      await loginHome.remove();
    }
  });

  it('refuses a wrong password with a clear 401 and writes nothing', async () => {
    const loginHome = await makeHome();
    try {
      const run = await strataDone(['login', '--url', web.url, '--email', 'cli@example.com'], { env: loginHome.env, input: 'not the password\n' });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/Not authenticated \(401\)/);
      await expect(stat(loginHome.configFile)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await loginHome.remove();
    }
  });
});

describe('where the server, token and workspace come from', () => {
  it('takes flags over the environment over the config file', async () => {
    const other = await account(web.url, 'other@example.com', PASSWORD, 'Other');
    const third = await account(web.url, 'third@example.com', PASSWORD, 'Third');
    const configHome = await makeHome();
    try {
      expect((await strataDone(['login', '--url', web.url, '--email', 'cli@example.com', '--password', PASSWORD], { env: configHome.env })).code).toBe(0);
      const ids = async (args: string[], env: Record<string, string>) => {
        const run = await strataDone([...args, 'workspaces', '--json'], { env: { ...configHome.env, ...env } });
        expect(run.stderr).toBe('');
        return (JSON.parse(run.stdout) as { workspaces: { id: string }[] }).workspaces.map((w) => w.id);
      };
      // The config file alone.
      expect(await ids([], {})).toEqual([workspaceId]);
      // The environment's token over the config's.
      expect(await ids([], { STRATA_TOKEN: other.token })).toEqual([other.workspaceId]);
      // The flag's token over the environment's.
      expect(await ids(['--token', third.token], { STRATA_TOKEN: other.token })).toEqual([third.workspaceId]);
      // The flag's server over the environment's (which is down).
      const down = `http://127.0.0.1:${await freePort()}`;
      expect(await ids(['--url', web.url], { STRATA_URL: down, STRATA_TOKEN: other.token })).toEqual([other.workspaceId]);
      // The environment's server over the config's: it is the one refused.
      const refused = await strataDone(['workspaces'], { env: { ...configHome.env, STRATA_URL: down, STRATA_TOKEN: other.token } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`Cannot reach the Strata server at ${down}: connection refused`);
      // The config's token is never sent to another server than its own.
      const elsewhere = await strataDone(['workspaces'], { env: { ...configHome.env, STRATA_URL: down } });
      expect(elsewhere.stderr).toContain(`No token for ${down}`);

      // The workspace: flag over environment over config (marked default in the list).
      const both = await api<{ workspace: { id: string } }>(web.url, '/api/workspaces', { body: { name: 'Second' }, token });
      const defaultOf = async (args: string[], env: Record<string, string>) => {
        const run = await strataDone([...args, 'workspaces', '--json'], { env: { ...configHome.env, ...env } });
        return (JSON.parse(run.stdout) as { workspaces: { id: string; default: boolean }[] }).workspaces.filter((w) => w.default).map((w) => w.id);
      };
      expect(await defaultOf([], {})).toEqual([workspaceId]);
      expect(await defaultOf([], { STRATA_WORKSPACE: both.body.workspace.id })).toEqual([both.body.workspace.id]);
      expect(await defaultOf(['--workspace', workspaceId], { STRATA_WORKSPACE: both.body.workspace.id })).toEqual([workspaceId]);
    } finally {
      await configHome.remove();
    }
  });
});

describe('strata strategies', () => {
  it('creates from a file, refuses a bad file with the server 400, lists and shows as JSON', async () => {
    const file = join(home.dir, 'digest.json');
    await writeFile(file, JSON.stringify({ name: 'Weekly digest', items: [{ key: 'collect', description: 'Collect', agentType: 'coordination' }, { key: 'send', description: 'Send', agentType: 'coordination', dependsOn: ['collect'] }] }));
    const created = await strataDone(['strategies', 'create', file, '--json'], { env: envOf() });
    expect(created.code).toBe(0);
    const { strategy } = JSON.parse(created.stdout);
    expect(strategy).toMatchObject({ id: expect.stringMatching(/^strat_/), name: 'Weekly digest', version: 1, workspaceId });

    const bad = join(home.dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ name: 'Broken', items: [{ key: 'a', description: 'A', agentType: 'coordination', dependsOn: ['missing'] }] }));
    const refused = await strataDone(['strategies', 'create', bad], { env: envOf() });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^strata: Refused \(400\): .*missing/m);

    await writeFile(bad, '{ "name": "Half');
    const notJson = await strataDone(['strategies', 'create', bad], { env: envOf() });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain(`${bad} is not valid JSON`);

    const listed = JSON.parse((await strataDone(['strategies', 'list', '--json'], { env: envOf() })).stdout);
    expect(listed.strategies.map((s: { id: string }) => s.id)).toContain(strategy.id);
    const shown = await strataDone(['strategies', 'show', 'Weekly digest', '--json'], { env: envOf() });
    expect(JSON.parse(shown.stdout).strategy).toMatchObject({ id: strategy.id, items: [{ key: 'collect' }, { key: 'send', dependsOn: ['collect'] }] });
    const human = await strataDone(['strategies', 'show', strategy.id], { env: envOf() });
    expect(human.stdout).toMatch(/send\s+coordination\s+medium\s+collect/);
    const missing = await strataDone(['strategies', 'show', 'strat_nope'], { env: envOf() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Not found \(404\)/);
  });

  it('edits in $EDITOR: saves a change as a new version, shows a 400 and lets the user fix it, saves nothing unchanged', async () => {
    const id = await createStrategy('Editable', [{ key: 'one', description: 'One', agentType: 'coordination' }]);
    // An "editor" that applies the next of a list of edits to the file (a counter file says which).
    const script = join(home.dir, 'editor.mjs');
    const counter = join(home.dir, 'editor-count');
    await writeFile(counter, '0');
    await writeFile(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs';
const [file] = process.argv.slice(2);
const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
writeFileSync(${JSON.stringify(counter)}, String(n + 1));
const edits = JSON.parse(process.env.EDITS);
const definition = JSON.parse(readFileSync(file, 'utf8'));
const edit = edits[n];
if (edit === 'keep') process.exit(0);
writeFileSync(file, JSON.stringify(Object.assign(definition, edit), null, 2));
`,
    );
    const editor = `${process.execPath} ${script}`;
    const edits = (list: unknown[]) => ({ EDITOR: editor, EDITS: JSON.stringify(list) });

    // A bad edit (unknown dependency) is refused with the 400; answering yes opens it again.
    await writeFile(counter, '0');
    const fixed = await strataDone(['strategies', 'edit', id], {
      env: envOf(edits([{ items: [{ key: 'one', description: 'One', agentType: 'coordination', dependsOn: ['ghost'] }] }, { description: 'Now fixed', items: [{ key: 'one', description: 'One', agentType: 'coordination' }] }])),
      input: 'y\n',
    });
    expect(fixed.stderr).toMatch(/Refused \(400\): .*ghost/);
    expect(fixed.stderr).toContain('Edit again?');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('as version 2');
    const { body } = await api<{ strategy: { version: number; description: string } }>(web.url, `/api/strategies/${id}`, { token });
    expect(body.strategy).toMatchObject({ version: 2, description: 'Now fixed' });

    // Unchanged: nothing saved.
    await writeFile(counter, '0');
    const unchanged = await strataDone(['strategies', 'edit', 'Editable'], { env: envOf(edits(['keep'])) });
    expect(unchanged.code).toBe(0);
    expect(unchanged.stderr).toContain('No changes');
    expect((await api<{ strategy: { version: number } }>(web.url, `/api/strategies/${id}`, { token })).body.strategy.version).toBe(2);

    // A bad edit, and no: nothing saved, exit 1.
    await writeFile(counter, '0');
    const givenUp = await strataDone(['strategies', 'edit', id], { env: envOf(edits([{ name: '' }])), input: 'n\n' });
    expect(givenUp.code).toBe(1);
    expect(givenUp.stderr).toMatch(/Refused \(400\): name/);
    expect((await api<{ strategy: { version: number } }>(web.url, `/api/strategies/${id}`, { token })).body.strategy.version).toBe(2);
  });
});

describe('strata follow', () => {
  it('follows a run to completion live and exits 0', async () => {
    await createStrategy('Gated run', [
      { key: 'first', description: 'First', agentType: 'coordination', input: { gate: 'complete-1' } },
      { key: 'second', description: 'Second', agentType: 'coordination', dependsOn: ['first'] },
    ]);
    const run = strata(['start', 'Gated run', '--follow'], { env: envOf() });
    // The first line is the state on connect: the run is live and waiting for the gate.
    await run.waitFor(/^exec_\S+ running: 0\/2 completed/m);
    gates.gate('complete-1').resolve();
    const { code, stdout, stderr } = await run.done;
    expect(stderr).toMatch(/^Started exec_/);
    expect(stdout).toContain('task first completed');
    expect(stdout).toContain('task second completed (2/2 completed, 0 failed)');
    expect(stdout).toMatch(/completed: 2 completed, 0 failed, 0 skipped of 2; health 100\n$/);
    expect(code).toBe(0);
  });

  it('follows a failing run and exits 1, naming the failing task and its error', async () => {
    const strategyId = await createStrategy('Failing run', [
      { key: 'gate', description: 'Gate', agentType: 'coordination', input: { gate: 'fail-1' } },
      { key: 'analyse', description: 'Analyse', agentType: 'coordination', input: { fail: 'the model is unavailable' }, dependsOn: ['gate'], maxRetries: 0 },
    ]);
    const started = JSON.parse((await strataDone(['start', strategyId, '--json'], { env: envOf() })).stdout);
    const run = strata(['follow', started.executionId], { env: envOf() });
    await run.waitFor(/running/);
    gates.gate('fail-1').resolve();
    const { code, stdout } = await run.done;
    expect(stdout).toContain('task analyse failed: the model is unavailable');
    expect(stdout).toMatch(/ failed \(.*\): 1 completed, 1 failed, 0 skipped of 2/);
    expect(code).toBe(1);
    // Followed again once it has settled: the same outcome at once.
    const again = await strataDone(['follow', started.executionId], { env: envOf() });
    expect(again.code).toBe(1);
    // status --json is the status body.
    const status = JSON.parse((await strataDone(['status', started.executionId, '--json'], { env: envOf() })).stdout);
    expect(status.execution).toMatchObject({ id: started.executionId, status: 'failed' });
    expect(status.tasks.find((t: { key: string }) => t.key === 'analyse')).toMatchObject({ status: 'failed', error: 'the model is unavailable' });
  });

  it('follows a run that is cancelled and exits 2; control commands answer as JSON and name a 409', async () => {
    const strategyId = await createStrategy('Cancelled run', [
      { key: 'slow', description: 'Slow', agentType: 'coordination', input: { gate: 'cancel-1' } },
      { key: 'after', description: 'After', agentType: 'coordination', dependsOn: ['slow'] },
    ]);
    const started = JSON.parse((await strataDone(['start', strategyId, '--json'], { env: envOf() })).stdout);
    const id = started.executionId as string;
    const run = strata(['follow', id, '--json'], { env: envOf() });
    await run.waitFor(/"type": ?"state"/);
    const paused = await strataDone(['pause', id, '--json'], { env: envOf() });
    expect(JSON.parse(paused.stdout)).toMatchObject({ success: true, execution: { id, status: 'paused' } });
    const cancelled = await strataDone(['cancel', id, '--json'], { env: envOf() });
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ success: true, execution: { id, status: 'cancelled' } });
    // The task in progress finishes; then the run ends.
    gates.gate('cancel-1').resolve();
    const { code, stdout } = await run.done;
    // --json: one event per line, every line JSON, the last the summary.
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ type: 'state', executionId: id });
    expect(lines.map((l) => l.type)).toContain('execution-cancelled');
    expect(lines.at(-1)).toMatchObject({ type: 'summary', executionId: id, status: 'cancelled' });
    expect(code).toBe(2);

    const conflict = await strataDone(['resume', id], { env: envOf() });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^strata: Conflict \(409\): /);
    const retried = await strataDone(['retry', id, '--json'], { env: envOf() });
    expect(JSON.parse(retried.stdout)).toMatchObject({ retryOf: id, executionId: expect.stringMatching(/^exec_/) });
  });
});

describe('strata tokens', () => {
  it('creates, lists and revokes API tokens from a session', async () => {
    const created = await strataDone(['tokens', 'create', '--name', 'ci', '--email', 'cli@example.com', '--json'], { env: envOf(), input: `${PASSWORD}\n` });
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout);
    expect(token).toMatchObject({ id: expect.stringMatching(/^tok_/), name: 'ci', token: expect.any(String) });
    // The new token works.
    const asToken = await strataDone(['workspaces', '--json', '--token', token.token], { env: envOf() });
    expect(JSON.parse(asToken.stdout).workspaces.map((w: { id: string }) => w.id)).toContain(workspaceId);

    const listed = await strataDone(['tokens', 'list', '--email', 'cli@example.com', '--password', PASSWORD, '--json'], { env: envOf() });
    expect(JSON.parse(listed.stdout).tokens.find((t: { id: string }) => t.id === token.id)).toMatchObject({ name: 'ci', revokedAt: null });
    expect(listed.stdout).not.toContain(token.token);

    const revoked = await strataDone(['tokens', 'revoke', token.id, '--email', 'cli@example.com', '--password', PASSWORD, '--json'], { env: envOf() });
    expect(JSON.parse(revoked.stdout)).toEqual({ success: true, id: token.id });
    const refused = await strataDone(['workspaces', '--token', token.token], { env: envOf() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Not authenticated \(401\).*the --token flag/);
  });
});

describe('strata approve and reject', () => {
  it('answers approvals by task key or id, with a comment, and names a second answer as a 409', async () => {
    const strategyId = await createStrategy(
      'Sign-off',
      [
        { key: 'legal', description: 'Legal sign-off', agentType: 'approval', input: { prompt: 'Legal ok?' } },
        { key: 'brand', description: 'Brand sign-off', agentType: 'approval', input: { prompt: 'Brand ok?' } },
      ],
      { onTaskFailure: 'continue' },
    );
    const { executionId } = JSON.parse((await strataDone(['start', 'Sign-off', '--json'], { env: envOf() })).stdout);
    expect(strategyId).toMatch(/^strat_/);
    const follow = strata(['follow', executionId], { env: envOf() });
    await follow.waitFor(/running/);
    // Both asked: the approvals list names them.
    const waiting = async () => (await api<{ approvals: { taskId: string; taskKey: string }[] }>(web.url, `/api/approvals?workspaceId=${workspaceId}&executionId=${executionId}`, { token })).body.approvals;
    const approvals = await until('both approvals asked', async () => {
      const list = await waiting();
      return list.length === 2 ? list : undefined;
    }, 30_000);
    const approved = await strataDone(['approve', executionId, 'legal', '--comment', 'fine by us', '--json'], { env: envOf() });
    expect(JSON.parse(approved.stdout).approval).toMatchObject({ status: 'approved', comment: 'fine by us' });
    const brand = approvals.find((a) => a.taskKey === 'brand')!;
    const rejected = await strataDone(['reject', executionId, brand.taskId], { env: envOf() });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`${brand.taskId}: rejected`);
    const again = await strataDone(['approve', executionId, 'brand'], { env: envOf() });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/Conflict \(409\)/);
    const unknown = await strataDone(['approve', executionId, 'nobody'], { env: envOf() });
    expect(unknown.stderr).toContain('has no task with key "nobody"');
    // One approved, one rejected (a failure, with onTaskFailure continue): the run completes.
    const { code, stdout } = await follow.done;
    expect(stdout).toMatch(/completed: 1 completed, 1 failed, 0 skipped of 2/);
    expect(code).toBe(0);
  });
});

describe('errors', () => {
  it('names a 404, a bad token and a server that is down; follow exits 3 when it cannot follow', async () => {
    const missing = await strataDone(['status', 'exec_0_missing'], { env: envOf() });
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^strata: Not found \(404\): /);
    const badToken = await strataDone(['strategies', 'list'], { env: envOf({ STRATA_TOKEN: 'not-a-token' }) });
    expect(badToken.stderr).toMatch(/Not authenticated \(401\).*STRATA_TOKEN/);
    const cannotFollow = await strataDone(['follow', 'exec_0_missing'], { env: envOf() });
    expect(cannotFollow.code).toBe(3);
    const down = `http://127.0.0.1:${await freePort()}`;
    const refused = await strataDone(['follow', 'exec_0_missing', '--url', down], { env: envOf() });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`Cannot reach the Strata server at ${down}: connection refused`);
    const usage = await strataDone(['start'], { env: envOf() });
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("missing required argument 'strategy'");
  });
});

describe('pnpm strata', () => {
  it('runs from the repository root (on the pinned Node: the command refuses an older one) with only JSON on stdout', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn('pnpm', ['strata', 'workspaces', '--json'], { cwd: root, env: { ...process.env, ...envOf() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.once('close', resolve));
    // pnpm's own "$ node …" line goes to stderr.
    expect(err).not.toMatch(/strata:/);
    expect(code).toBe(0);
    expect(JSON.parse(out).workspaces.map((w: { id: string }) => w.id)).toContain(workspaceId);
  });
});
