import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR_PREFIX, startGuardian } from './guardian-order.ts';
import { processAlive } from './sweep.ts';

/** The postmaster pids of the servers running on data folders within `folder` (a few levels down). */
function postmastersIn(folder: string, depth = 3): number[] {
  if (depth < 0 || !existsSync(folder)) return [];
  const pidFile = join(folder, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? [pid] : [];
  }
  let entries: string[];
  try {
    entries = readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  return entries.flatMap((name) => postmastersIn(join(folder, name), depth - 1));
}

/** Stops (fast shutdown, then immediate) every PostgreSQL running on a data folder within `folder`. */
export async function stopServersIn(folder: string, timeoutMs = 15_000): Promise<void> {
  const pids = postmastersIn(folder);
  for (const pid of pids) process.kill(pid, 'SIGINT');
  const waitFor = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (pids.some(processAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  };
  await waitFor(timeoutMs);
  for (const pid of pids.filter(processAlive)) process.kill(pid, 'SIGQUIT');
  await waitFor(5_000);
}

/**
 * For a test that keeps a PostgreSQL of its own (or a launcher's data) in a temporary folder:
 * when this process ends — afterAll, a failure, Ctrl-C, SIGKILL — a guardian process stops any
 * server running there and removes the folder. `close()` in afterAll does it at once.
 */
export async function guardFolder(folder: string): Promise<{ close(): Promise<void> }> {
  const guardian = await startGuardian({ kind: 'folder', folder });
  if (guardian.report.error) throw new Error(guardian.report.error);
  return { close: guardian.close };
}

/**
 * The data folders of embedded test servers whose guardian is gone (killed outright, or the
 * machine lost power): their servers are stopped and the folders removed. A folder whose
 * guardian still runs belongs to a run in progress and stays.
 */
export async function removeAbandonedDataDirs(parent: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(parent).filter((entry) => entry.startsWith(DATA_DIR_PREFIX))) {
    const folder = join(parent, name);
    let guardianPid: number;
    try {
      guardianPid = (JSON.parse(readFileSync(join(folder, 'guardian.json'), 'utf8')) as { pid: number }).pid;
    } catch {
      continue; // being created, or not ours
    }
    if (!Number.isInteger(guardianPid) || processAlive(guardianPid)) continue;
    await stopServersIn(folder);
    rmSync(folder, { recursive: true, force: true });
    removed.push(folder);
  }
  return removed;
}
