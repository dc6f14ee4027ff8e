import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SERVER_URL } from '../testing.ts';
import { removeAbandonedDataDirs } from './folder.ts';
import type { FixtureReport } from './fixtures/report.ts';
import { DATA_DIR_PREFIX } from './guardian-order.ts';
import { startTestServer } from './server.ts';
import { dropOrphanedDatabases, dropRunDatabases, processAlive } from './sweep.ts';
import { listTestDatabases, tagDatabase } from './tags.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const VITEST = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'strata-test-server-'));
const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
const started: ChildProcess[] = [];
let closedPortUrl: string;

/** A port nothing listens on: the "default address" of the nested runs. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  closedPortUrl = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
});

afterEach(() => {
  // A run a failed test left behind, with its process group (what Ctrl-C would reach).
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
});

afterAll(async () => {
  await admin.end({ timeout: 2 });
  rmSync(scratch, { recursive: true, force: true });
});

interface NestedRun {
  child: ChildProcess;
  reportFile: string;
  exited: Promise<number | null>;
  output: () => string;
}

/**
 * A test run of its own, as a developer would start it, in its own process group: vitest on
 * the fixtures, or the wrapper of `pnpm test` around a stand-in for turbo. It knows nothing of
 * this run's server (no TEST_DATABASE_URL, no run id) and its default address is `defaultUrl`.
 */
function startRun(kind: 'vitest' | 'wrapper', options: { defaultUrl: string; hold?: boolean }): NestedRun {
  const reportFile = join(scratch, `${kind}-${started.length}-${Date.now()}.json`);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('VITEST') && name !== 'TEST_DATABASE_URL' && name !== 'STRATA_TEST_RUN_ID') env[name] = value;
  }
  Object.assign(env, { STRATA_TEST_DEFAULT_DB_URL: options.defaultUrl, FIXTURE_REPORT: reportFile, ...(options.hold ? { FIXTURE_HOLD: '1' } : {}) });
  const args = kind === 'vitest' ? [VITEST, 'run', '--config', join(FIXTURES, 'vitest.config.ts')] : [join(FIXTURES, 'wrap.ts')];
  const child = spawn(process.execPath, args, { cwd: FIXTURES, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, reportFile, exited, output: () => output };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves with the run's report once written; fails at once if the run ends first. */
async function reportOf(run: NestedRun): Promise<FixtureReport> {
  let ended = false;
  void run.exited.then(() => (ended = true));
  await until(() => {
    if (ended && !existsSync(run.reportFile)) throw new Error(`the run ended without a report:\n${run.output()}`);
    return existsSync(run.reportFile);
  }, 'the run to report');
  return JSON.parse(readFileSync(run.reportFile, 'utf8')) as FixtureReport;
}

/** Processes whose command line mentions `text`: the run's guardian (its run id), its PostgreSQL (its data folder). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const portOf = (url: string) => new URL(url).port;

async function databaseExists(name: string): Promise<boolean> {
  const rows = await admin`select 1 from pg_database where datname = ${name}`;
  return rows.length === 1;
}

/** The run is over once its guardian has cleaned up and exited. */
async function guardianGone(runId: string): Promise<void> {
  await until(() => processesMentioning(`"runId":"${runId}"`).length === 0, `the guardian of run ${runId} to exit`);
}

describe('nothing answers on the default address', () => {
  it('vitest alone starts one embedded PostgreSQL, creates the test database on it, and removes everything at the end', async () => {
    const run = startRun('vitest', { defaultUrl: closedPortUrl });
    const code = await run.exited;
    expect(code, run.output()).toBe(0);
    const report = await reportOf(run);
    expect(run.output()).toContain(`no usable PostgreSQL at 127.0.0.1:${portOf(closedPortUrl)} (nothing answers there); starting an embedded one`);
    // The database was made on the embedded server: its own port, its data under a temporary folder of this run.
    expect(portOf(report.serverUrl)).not.toBe(portOf(closedPortUrl));
    expect(portOf(report.serverUrl)).not.toBe(portOf(TEST_SERVER_URL));
    expect(report.database).toMatch(/^strata_test_\d+_[a-z0-9]{8}$/);
    const runFolder = dirname(report.dataDirectory);
    expect(runFolder.startsWith(join(tmpdir(), `${DATA_DIR_PREFIX}${report.runId}-`))).toBe(true);
    // Gone at the end: the server, its data folder and the guardian (vitest waited for it).
    expect(existsSync(runFolder)).toBe(false);
    expect(processesMentioning(report.dataDirectory)).toEqual([]);
    expect(processesMentioning(`"runId":"${report.runId}"`)).toEqual([]);
  });

  it('Ctrl-C on a vitest run leaves no PostgreSQL, no process a test started and no data folder', async () => {
    const run = startRun('vitest', { defaultUrl: closedPortUrl, hold: true });
    const report = await reportOf(run);
    const runFolder = dirname(report.dataDirectory);
    expect(processesMentioning(report.dataDirectory).length).toBeGreaterThan(0);
    expect(processAlive(report.childPid ?? 0)).toBe(true);

    process.kill(-(run.child.pid ?? 0), 'SIGINT');
    expect(await run.exited).not.toBe(0);
    await guardianGone(report.runId ?? '');
    expect(existsSync(runFolder)).toBe(false);
    expect(processesMentioning(report.dataDirectory)).toEqual([]);
    await until(() => !processAlive(report.childPid ?? 0), 'the test’s child process to end');
  });

  it('the wrapper of `pnpm test` starts one for the run, passes it on, and removes it when the run ends', async () => {
    const run = startRun('wrapper', { defaultUrl: closedPortUrl });
    expect(await run.exited, run.output()).toBe(0);
    const report = await reportOf(run);
    expect(portOf(report.serverUrl)).not.toBe(portOf(closedPortUrl));
    expect(existsSync(dirname(report.dataDirectory))).toBe(false);
    expect(processesMentioning(report.dataDirectory)).toEqual([]);
    expect(processesMentioning(`"runId":"${report.runId}"`)).toEqual([]);
  });
});

describe('a server answers on the default address', () => {
  it('is used; Ctrl-C on the wrapper drops the run’s databases and no one else’s', async () => {
    // Another run's live database on the same server (its creator, this process, is alive).
    const bystander = `strata_test_${process.pid}_bystander${Date.now() % 100000}`;
    await admin.unsafe(`create database "${bystander}"`);
    await tagDatabase(admin, bystander, { run: 'someoneelsesrun', host: hostname(), pid: process.pid });
    try {
      const run = startRun('wrapper', { defaultUrl: TEST_SERVER_URL, hold: true });
      const report = await reportOf(run);
      expect(portOf(report.serverUrl)).toBe(portOf(TEST_SERVER_URL));
      expect(run.output()).not.toContain('embedded');
      const tagged = (await listTestDatabases(admin)).find((database) => database.name === report.database);
      expect(tagged?.tag).toMatchObject({ run: report.runId, host: hostname() });

      process.kill(-(run.child.pid ?? 0), 'SIGINT');
      expect(await run.exited).toBe(130);
      await guardianGone(report.runId ?? '');
      expect(await databaseExists(report.database)).toBe(false);
      expect(await databaseExists(bystander)).toBe(true);
      await until(() => !processAlive(report.childPid ?? 0), 'the test’s child process to end');
    } finally {
      await admin.unsafe(`drop database if exists "${bystander}" with (force)`);
    }
  });
});

describe('cleanup of test databases', () => {
  it('drops those whose creating process here is gone; keeps live ones, other machines’ and untagged ones', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const deadPid = gone.pid ?? 0;
    expect(processAlive(deadPid)).toBe(false);
    const suffix = Date.now() % 1_000_000;
    const databases = {
      orphan: { name: `strata_test_${deadPid}_orphan${suffix}`, tag: { run: 'deadrun1', host: hostname(), pid: deadPid } },
      live: { name: `strata_test_${process.pid}_live${suffix}`, tag: { run: 'liverun1', host: hostname(), pid: process.pid } },
      elsewhere: { name: `strata_test_${deadPid}_elsewhere${suffix}`, tag: { run: 'farrun01', host: `not-${hostname()}`, pid: deadPid } },
      untagged: { name: `strata_test_${deadPid}_untagged${suffix}`, tag: undefined },
    };
    for (const { name, tag } of Object.values(databases)) {
      await admin.unsafe(`create database "${name}"`);
      if (tag) await tagDatabase(admin, name, tag);
    }
    try {
      const dropped = await dropOrphanedDatabases(TEST_SERVER_URL);
      expect(dropped).toContain(databases.orphan.name);
      expect(dropped).not.toContain(databases.live.name);
      expect(await databaseExists(databases.orphan.name)).toBe(false);
      for (const kept of [databases.live, databases.elsewhere, databases.untagged]) expect(await databaseExists(kept.name)).toBe(true);

      expect(await dropRunDatabases(TEST_SERVER_URL, 'liverun1')).toEqual([databases.live.name]);
      expect(await databaseExists(databases.elsewhere.name)).toBe(true);
    } finally {
      for (const { name } of Object.values(databases)) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    }
  });

  it('tags the databases of the test harness with this run', async () => {
    const runId = process.env.STRATA_TEST_RUN_ID;
    expect(runId).toMatch(/^[a-z0-9]{16}$/);
    const { createTestDatabase } = await import('../testing.ts');
    const database = await createTestDatabase({ migrate: false });
    try {
      const found = (await listTestDatabases(admin)).find((entry) => entry.name === database.name);
      expect(found?.tag).toEqual({ run: runId, host: hostname(), pid: process.pid });
    } finally {
      await database.drop();
    }
  });
});

describe('guardFolder', () => {
  it('stops the PostgreSQL of a test process killed outright and removes its folder', async () => {
    const owner = spawn(process.execPath, [join(FIXTURES, 'folder-owner.ts')], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(owner);
    let output = '';
    owner.stderr?.on('data', (d) => (output += d));
    const { folder, dataDir } = await new Promise<{ folder: string; dataDir: string }>((resolve, reject) => {
      let line = '';
      owner.stdout?.on('data', (d) => {
        line += d;
        if (line.includes('\n')) resolve(JSON.parse(line));
      });
      owner.once('exit', (code) => reject(new Error(`the owner exited (${code}): ${output}`)));
    });
    expect(processesMentioning(dataDir).length).toBeGreaterThan(0);
    process.kill(owner.pid ?? 0, 'SIGKILL');
    await until(() => !existsSync(folder), 'the guardian to remove the folder');
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});

describe('removeAbandonedDataDirs', () => {
  it('removes the data folders whose guardian is gone, and keeps those of runs in progress', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const parent = join(scratch, 'tmp');
    const folder = (name: string, guardianPid?: number) => {
      const path = join(parent, name);
      mkdirSync(join(path, 'pg'), { recursive: true });
      if (guardianPid !== undefined) writeFileSync(join(path, 'guardian.json'), JSON.stringify({ pid: guardianPid, runId: name }));
      return path;
    };
    const abandoned = folder(`${DATA_DIR_PREFIX}abandoned-x`, gone.pid);
    const live = folder(`${DATA_DIR_PREFIX}live-x`, process.pid);
    const starting = folder(`${DATA_DIR_PREFIX}starting-x`);
    const foreign = folder('someone-else', gone.pid);
    expect(await removeAbandonedDataDirs(parent)).toEqual([abandoned]);
    expect([abandoned, live, starting, foreign].map(existsSync)).toEqual([false, true, true, true]);
  });
});

describe('TEST_DATABASE_URL', () => {
  it('set: that server is used as it is, and nothing is started', async () => {
    const server = await startTestServer({ env: { ...process.env, TEST_DATABASE_URL: TEST_SERVER_URL } });
    try {
      expect(server).toMatchObject({ url: TEST_SERVER_URL, source: 'TEST_DATABASE_URL' });
      expect(server.dataDir).toBeUndefined();
    } finally {
      await server.close();
    }
    expect(processAlive(server.guardianPid)).toBe(false);
  });

  it('set to a server that does not answer: the run stops at once, naming it', async () => {
    await expect(startTestServer({ env: { ...process.env, TEST_DATABASE_URL: closedPortUrl } })).rejects.toThrow(
      `TEST_DATABASE_URL (127.0.0.1:${portOf(closedPortUrl)}) cannot be used: nothing answers there.`,
    );
  });
});
