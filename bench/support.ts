import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfigOrExit } from '@strata/config';
import { type Db, randomId, resolveDatabase, runMigrations } from '@strata/db';
import { AgentRegistry, type EngineWorker, ensureAgentQueues, pgBossTaskQueue, startEngineWorker } from '@strata/engine';
import type { PgBoss } from 'pg-boss';
import postgres from 'postgres';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

/** A scratch database for one benchmark on the configured server (DATABASE_URL, or the embedded one). */
export async function benchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const config = loadConfigOrExit();
  const server = await resolveDatabase(config, (m) => console.log(`  ${m}`));
  const name = `strata_bench_${randomId(8)}`;
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  await recordPostgres(admin, config.DATABASE_URL ? 'DATABASE_URL' : 'embedded');
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
      await server.stop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The PostgreSQL server a bench ran against, as that server reports itself. */
export interface PostgresServer {
  /** `server_version`, e.g. "18.4" or "15.20 (Debian 15.20-0+deb12u1)". */
  version: string;
  /** `server_version_num`, e.g. 180004. */
  versionNum: number;
  /** `select version()`: the build, platform and compiler. */
  full: string;
  /** Where the bench found it: the embedded server (DATABASE_URL unset), DATABASE_URL, or TEST_DATABASE_URL (benches on the engine's test harness). */
  source: 'embedded' | 'DATABASE_URL' | 'TEST_DATABASE_URL';
}

let postgresServer: PostgresServer | undefined;

/**
 * Asks the server behind `sql` (a postgres.js client, or a URL to connect to) for its version
 * and remembers it for the next `writeResult`. `benchDatabase` calls it; a bench that gets its
 * database elsewhere (fairness, through the engine's test harness) must call it itself.
 */
export async function recordPostgres(sql: postgres.Sql | string, source: PostgresServer['source']): Promise<PostgresServer> {
  const client = typeof sql === 'string' ? postgres(sql, { max: 1, onnotice: () => {} }) : sql;
  try {
    const [row] = await client<{ version: string; num: string; full: string }[]>`
      select current_setting('server_version') as version, current_setting('server_version_num') as num, version() as full`;
    postgresServer = { version: row!.version, versionNum: Number(row!.num), full: row!.full, source };
    return postgresServer;
  } finally {
    if (typeof sql === 'string') await client.end({ timeout: 5 });
  }
}

/** The machine a result was measured on, and the PostgreSQL server recorded by `recordPostgres` (null if none was). */
export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.versions.node,
    platform: process.platform,
    postgres: postgresServer ?? null,
  };
}

/**
 * Writes bench/results/<name>.json with `machine` (cores, memory, CPU, Node, and the PostgreSQL
 * server the bench ran against) beside the result, and forgets that server, so the next bench
 * of a `pnpm bench` run cannot inherit it.
 */
export function writeResult(name: string, result: object): void {
  if (!postgresServer) console.warn(`  ${name}: no PostgreSQL server recorded (call recordPostgres); machine.postgres is null`);
  const withMachine = { ...result, machine: machine() };
  postgresServer = undefined;
  mkdirSync(RESULTS, { recursive: true });
  const file = `${RESULTS}${name}.json`;
  writeFileSync(file, `${JSON.stringify(withMachine, null, 2)}\n`);
  console.log(`  wrote ${file}`);
  console.log(JSON.stringify(withMachine, null, 2));
}

export interface BenchWeb {
  base: string;
  pid: number;
  // biome-ignore lint/suspicious/noExplicitAny: benchmark setup reads response bodies loosely
  post: (path: string, body: unknown, token?: string) => Promise<any>;
  /** Signs up a user and makes a workspace: `{ token, workspaceId }`. */
  account: () => Promise<{ token: string; workspaceId: string }>;
  stop: () => Promise<void>;
}

/** The built web app (apps/web/server.ts) on a free port against `databaseUrl`, rate limits lifted. */
export async function startBenchWeb(databaseUrl: string): Promise<BenchWeb> {
  const { spawn, spawnSync } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const { createServer } = await import('node:net');
  const webDir = fileURLToPath(new URL('../apps/web/', import.meta.url));
  if (!existsSync(`${webDir}build/handler.js`)) spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build'], { cwd: webDir, stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
  // The V8 flag `pnpm start` gives the web (WEB_NODE_FLAGS in packages/launcher/src/apps.ts).
  const web = spawn(process.execPath, ['--max-semi-space-size=16', 'server.ts'], {
    cwd: webDir,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_STATUS_PER_MIN: '0', RATE_LIMIT_START_PER_MIN: '0', STREAM_MAX_PER_CREDENTIAL: '100000' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {}
    if (i > 200) throw new Error('web did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    base,
    pid: web.pid!,
    post,
    account: async () => {
      const { token } = await post('/api/auth/signup', { email: 'bench@example.com', password: 'benchmark password' });
      const { workspace } = await post('/api/workspaces', { name: 'bench' }, token);
      return { token, workspaceId: workspace.id };
    },
    stop: async () => {
      web.kill('SIGTERM');
      await new Promise((r) => web.once('exit', r));
    },
  };
}

/**
 * An engine worker on a started `boss` whose `analysis` agent answers `result` at once (batches
 * of 20, 2 slots): the load the UI and stream benches follow.
 */
export async function startAnalysisWorker(boss: PgBoss, db: Db, result: unknown): Promise<EngineWorker> {
  await ensureAgentQueues(boss);
  return startEngineWorker({
    boss,
    ctx: { db, queue: pgBossTaskQueue(boss), retry: { baseMs: 1000, maxMs: 1000 } },
    registry: new AgentRegistry().register('analysis', () => result),
    logger: createLogger('bench', 'warn'),
    leaseSeconds: 60,
    defaultQueue: { batchSize: 20, localConcurrency: 2 },
  });
}
