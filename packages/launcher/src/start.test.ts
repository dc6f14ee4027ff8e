import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardFolder } from '@strata/db/test-server';
import { createTestDatabase } from '@strata/db/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import getPort from 'get-port';

const START = fileURLToPath(new URL('./start.ts', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'strata-start-'));
chmodSync(parent, 0o755);
// The launchers' embedded database lives here: stopped and removed however this file ends.
const guard = await guardFolder(parent);
const dataDir = join(parent, 'data');
const launchers: ChildProcess[] = [];

// A launcher a failed test left running is stopped as a user would (SIGTERM stops web, worker and database).
afterEach(async () => {
  await Promise.all(
    launchers.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }),
  );
});
afterAll(() => guard.close());

/** A port free right now on loopback (get-port). */
const freePort = (): Promise<number> => getPort({ host: '127.0.0.1' });

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** The environment of `pnpm start` in a shell: vitest's own NODE_ENV=test is not part of it. */
function shellEnv(): NodeJS.ProcessEnv {
  const { NODE_ENV: _vitest, ...env } = process.env;
  return env;
}

async function start(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [START], {
    env: { ...shellEnv(), DATABASE_URL: '', STRATA_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launchers.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${output}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    const poll = () => {
      if (!output.includes('Strata is ready') || !output.includes('worker ready')) return void setTimeout(poll, 100);
      clearTimeout(timer);
      resolve();
    };
    poll();
  });
  return { child, port, output: () => output };
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGTERM');
  return new Promise((resolve) => started.child.once('exit', (code) => resolve(code)));
}

/** Processes whose command line mentions the given text (postgres, web, worker). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function childPids(output: string): number[] {
  return [...new Set([...output.matchAll(/"pid":(\d+),"name":"(web|worker)"/g)].map((m) => Number(m[1])))];
}

/** The pid of the latest process that logged as `name` (web or worker). */
function latestPid(output: string, name: 'web' | 'worker'): number {
  return Number([...output.matchAll(new RegExp(`"pid":(\\d+),"name":"${name}"`, 'g'))].at(-1)?.[1]);
}

/** A process's environment variable, read from /proc. */
function envOf(pid: number, name: string): string | undefined {
  const entry = readFileSync(`/proc/${pid}/environ`, 'latin1')
    .split('\0')
    .find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** Resolves once `predicate` holds for the launcher's output (checked as output arrives). */
function outputUntil(started: Started, predicate: (output: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate(started.output())) return;
      started.child.stdout?.off('data', check);
      started.child.stderr?.off('data', check);
      started.child.off('exit', exited);
      resolve();
    };
    const exited = (code: number | null) => reject(new Error(`launcher exited ${code}: ${started.output()}`));
    started.child.stdout?.on('data', check);
    started.child.stderr?.on('data', check);
    started.child.once('exit', exited);
    check();
  });
}

const count = (text: string, part: string) => text.split(part).length - 1;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pnpm start (the launcher)', () => {
  it('runs web and worker on the embedded database, stops everything on SIGTERM, and reuses the data', async () => {
    const first = await start({});
    expect(first.output()).toContain('initialising a new PostgreSQL');
    // HOST defaults to loopback, where the demo account with its public password is safe.
    expect(first.output()).toContain('demo workspace created: log in as demo@strata.local / strata-demo (reachable from this machine only: HOST is 127.0.0.1)');
    const health = await fetch(`http://127.0.0.1:${first.port}/api/health`);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok' });
    expect(processesMentioning(join(dataDir, 'pg')).length).toBeGreaterThan(0);
    // `pnpm start` runs the apps in production mode.
    const web = latestPid(first.output(), 'web');
    const worker = latestPid(first.output(), 'worker');
    expect([envOf(web, 'NODE_ENV'), envOf(worker, 'NODE_ENV')]).toEqual(['production', 'production']);

    // A crashed web app is started again; the worker and the database keep running.
    const database = processesMentioning(join(dataDir, 'pg'));
    process.kill(web, 'SIGKILL');
    await outputUntil(first, (output) => output.includes('web exited unexpectedly; restarting it in 0.5 s') && count(output, 'web listening') === 2);
    expect((await fetch(`http://127.0.0.1:${first.port}/api/health`)).status).toBe(200);
    expect(latestPid(first.output(), 'web')).not.toBe(web);
    expect(alive(worker)).toBe(true);
    expect(processesMentioning(join(dataDir, 'pg'))).toEqual(database);
    const pids = childPids(first.output());
    expect(pids.length).toBeGreaterThanOrEqual(3);

    expect(await stop(first)).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(processesMentioning(join(dataDir, 'pg'))).toEqual([]);

    const second = await start({});
    expect(second.output()).not.toContain('initialising a new PostgreSQL');
    expect(second.output()).not.toContain('demo workspace created');
    expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect(await stop(second)).toBe(0);
    expect(processesMentioning(join(dataDir, 'pg'))).toEqual([]);
  });

  it('uses DATABASE_URL when set and starts no database of its own', async () => {
    const test = await createTestDatabase({ migrate: false });
    const otherDir = join(parent, 'unused');
    try {
      const started = await start({ DATABASE_URL: test.url, STRATA_DATA_DIR: otherDir });
      expect(started.output()).not.toContain('embedded PostgreSQL');
      const [row] = await test.sql`select count(*)::int as n from users where email = 'demo@strata.local'`;
      expect(row?.n).toBe(1);
      const [items] = await test.sql`select count(*)::int as n from strategy_items where level = 4`;
      expect(items?.n).toBe(15); // three demo strategies: 6 + 6 + 3 items
      // The demo login works over the API.
      const login = await fetch(`http://127.0.0.1:${started.port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@strata.local', password: 'strata-demo' }),
      });
      expect(login.status).toBe(200);
      const token = (await login.json()).token as string;
      const me = await fetch(`http://127.0.0.1:${started.port}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      const workspaces = (await me.json()).workspaces;
      expect(workspaces).toEqual([expect.objectContaining({ name: 'Demo workspace', role: 'owner' })]);
      // The demo strategies run to completion on the real worker: research reads the app's own
      // /demo/docs/ pages, so this needs no network.
      const strategies = await test.sql<{ id: string }[]>`select id from strategies where workspace_id = ${workspaces[0].id}`;
      const executionIds: string[] = [];
      for (const { id } of strategies) {
        const res = await fetch(`http://127.0.0.1:${started.port}/api/executions/start`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ strategyId: id, workspaceId: workspaces[0].id }),
        });
        expect(res.status).toBe(200);
        executionIds.push((await res.json()).executionId);
      }
      const deadline = Date.now() + 60_000;
      let statuses: { status: string; error: string | null }[] = [];
      while (Date.now() < deadline) {
        statuses = await test.sql<{ status: string; error: string | null }[]>`select status, error from executions where id = any(${executionIds})`;
        if (statuses.every((s) => s.status === 'completed' || s.status === 'failed')) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(statuses).toEqual([1, 2, 3].map(() => ({ status: 'completed', error: null })));
      expect(await stop(started)).toBe(0);
      expect(existsSync(otherDir)).toBe(false);
    } finally {
      await test.drop();
    }
  });

  it('creates no demo account on a public interface unless STRATA_DEMO_PASSWORD is set (issue 9, finding 8)', async () => {
    const test = await createTestDatabase({ migrate: false });
    try {
      const open = await start({ DATABASE_URL: test.url, HOST: '0.0.0.0' });
      expect(open.output()).toContain('no demo account created: HOST=0.0.0.0 is reachable from the network');
      const [none] = await test.sql`select count(*)::int as n from users`;
      expect(none?.n).toBe(0);
      expect(await stop(open)).toBe(0);

      const chosen = await start({ DATABASE_URL: test.url, HOST: '0.0.0.0', STRATA_DEMO_PASSWORD: 'an operator secret' });
      expect(chosen.output()).toContain('demo workspace created: log in as demo@strata.local with the password set in STRATA_DEMO_PASSWORD');
      expect(chosen.output()).not.toContain('an operator secret');
      const login = (password: string) =>
        fetch(`http://127.0.0.1:${chosen.port}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'demo@strata.local', password }) });
      expect((await login('strata-demo')).status).toBe(401);
      expect((await login('an operator secret')).status).toBe(200);
      expect(await stop(chosen)).toBe(0);
    } finally {
      await test.drop();
    }
  });

  it('stops at once with a message naming a wrong variable', async () => {
    const child = spawn(process.execPath, [START], { env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    launchers.push(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('PORT');
  });
});
