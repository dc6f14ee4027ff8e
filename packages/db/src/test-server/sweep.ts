import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import postgres from 'postgres';
import { dropDatabase, listTestDatabases, type TaggedDatabase } from './tags.ts';

/** Whether a process of this machine still runs (one we may not signal does; a zombie does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Linux: "<pid> (<name>) <state> ...": Z is a process that has exited but not been reaped.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0] !== 'Z';
  } catch {
    return true;
  }
}

async function dropWhere(serverUrl: string, doomed: (database: TaggedDatabase) => boolean): Promise<string[]> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const names = (await listTestDatabases(admin)).filter(doomed).map((database) => database.name);
    for (const name of names) await dropDatabase(admin, name);
    return names;
  } finally {
    await admin.end({ timeout: 2 });
  }
}

/** Drops every test database of one run: at its end, however it ended. */
export function dropRunDatabases(serverUrl: string, runId: string): Promise<string[]> {
  return dropWhere(serverUrl, ({ tag }) => tag?.run === runId);
}

/**
 * Drops the test databases left by processes of this machine that are gone (a run killed with
 * SIGKILL, a crashed worker). A database of another machine, or of a process still running,
 * stays: it may be in use.
 */
export function dropOrphanedDatabases(serverUrl: string, alive: (pid: number) => boolean = processAlive): Promise<string[]> {
  const host = hostname();
  return dropWhere(serverUrl, ({ tag }) => tag !== undefined && tag.host === host && !alive(tag.pid));
}
