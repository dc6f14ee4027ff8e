import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@strata/db/testing';
import { afterAll, describe, expect, it } from 'vitest';

const START = fileURLToPath(new URL('./start.ts', import.meta.url));
const parent = mkdtempSync(join(tmpdir(), 'strata-start-'));
chmodSync(parent, 0o755);
const dataDir = join(parent, 'data');

afterAll(() => rmSync(parent, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

async function start(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [START], {
    env: { ...process.env, DATABASE_URL: '', STRATA_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  return [...output.matchAll(/"pid":(\d+),"name":"(web|worker)"/g)].map((m) => Number(m[1]));
}

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
    expect(first.output()).toContain('demo workspace created');
    const health = await fetch(`http://127.0.0.1:${first.port}/api/health`);
    expect(await health.json()).toEqual({ status: 'ok', database: 'ok' });
    const pids = childPids(first.output());
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(processesMentioning(join(dataDir, 'pg')).length).toBeGreaterThan(0);

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
      expect(items?.n).toBe(6);
      // The demo login works over the API.
      const login = await fetch(`http://127.0.0.1:${started.port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'demo@strata.local', password: 'strata-demo' }),
      });
      expect(login.status).toBe(200);
      const me = await fetch(`http://127.0.0.1:${started.port}/api/me`, { headers: { authorization: `Bearer ${(await login.json()).token}` } });
      expect((await me.json()).workspaces).toEqual([expect.objectContaining({ name: 'Demo workspace', role: 'owner' })]);
      expect(await stop(started)).toBe(0);
      expect(existsSync(otherDir)).toBe(false);
    } finally {
      await test.drop();
    }
  });

  it('stops at once with a message naming a wrong variable', async () => {
    const child = spawn(process.execPath, [START], { env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('PORT');
  });
});
