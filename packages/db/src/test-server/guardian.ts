/**
 * The guardian of one test run: a small process of its own (its own process group, so a
 * terminal's Ctrl-C does not reach it) that outlives the run to clean up after it. It holds
 * the read end of a pipe from the run's owner (`pnpm test`'s wrapper, or vitest when run
 * alone); when that pipe closes — a normal end, Ctrl-C, a crash, even SIGKILL — it stops the
 * run's embedded PostgreSQL and removes its data folder, or, on a server of someone else's,
 * drops the databases tagged with the run's id.
 *
 * The same watch serves a test that keeps a PostgreSQL of its own in a temporary folder
 * (`guardFolder`): when that test's process ends, however, the server is stopped and the
 * folder removed.
 *
 * argv[2]: the GuardianOrder as JSON. stdout: one JSON line, the GuardianReport.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../embedded.ts';
import { stopServersIn } from './folder.ts';
import { DATA_DIR_PREFIX, type GuardianOrder, type GuardianReport } from './guardian-order.ts';
import { dropRunDatabases } from './sweep.ts';

const order = JSON.parse(process.argv[2] ?? '{}') as GuardianOrder;
let embedded: EmbeddedPostgres | undefined;
let dataDir: string | undefined;
let ready = false;
let stopRequested = false;
let cleaning = false;

async function cleanUp(): Promise<void> {
  try {
    if (embedded) await embedded.stop();
    else if (order.kind === 'run' && order.serverUrl) await dropRunDatabases(order.serverUrl, order.runId);
    if (order.kind === 'folder') await stopServersIn(order.folder);
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (order.kind === 'folder') rmSync(order.folder, { recursive: true, force: true });
  }
}

function finish(code: number): void {
  if (cleaning) return;
  cleaning = true;
  void cleanUp()
    .catch(() => {})
    .finally(() => process.exit(code));
}

function requestStop(): void {
  stopRequested = true;
  if (ready) finish(0);
}

function report(value: GuardianReport): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

// Nobody may read what we write once the owner is gone.
process.stdout.on('error', () => {});
process.stdin.on('end', requestStop);
process.stdin.on('close', requestStop);
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, requestStop);

try {
  if (order.kind === 'folder') {
    report({});
    ready = true;
    if (stopRequested) finish(0);
  } else {
    await startRun(order);
  }
} catch (error) {
  report({ error: error instanceof Error ? error.message : String(error) });
  finish(1);
}

async function startRun(order: Extract<GuardianOrder, { kind: 'run' }>): Promise<void> {
  let url = order.serverUrl;
  if (!url) {
    dataDir = mkdtempSync(join(tmpdir(), `${DATA_DIR_PREFIX}${order.runId}-`));
    // mkdtemp makes it 0700; as root the server runs as the OS user postgres, which must enter it.
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'guardian.json'), JSON.stringify({ pid: process.pid, runId: order.runId }));
    // A throwaway server: durability across a crash buys nothing, and every commit's fsync costs the tests time.
    embedded = await startEmbeddedPostgres({ dataDir, database: 'postgres', settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    url = embedded.url;
  }
  report({ url, ...(dataDir ? { dataDir } : {}) });
  ready = true;
  if (stopRequested) finish(0);
}
