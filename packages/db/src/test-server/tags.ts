import { hostname } from 'node:os';
import type { Sql } from 'postgres';

/**
 * Every test database is named `strata_test_<pid>_<random>` and carries a comment saying which
 * run, machine and process made it. Cleanup drops only what it can prove is its own or dead:
 * the databases of its own run, or those whose creating process on this machine is gone.
 * Other runs on the same server (CI, other developers, parallel runs here) are never touched;
 * untagged databases (made by older code) are left alone.
 */
export const TEST_DATABASE_PREFIX = 'strata_test_';

export interface DatabaseTag {
  run: string | null;
  host: string;
  pid: number;
}

export function currentTag(runId: string | undefined): DatabaseTag {
  return { run: runId ?? null, host: hostname(), pid: process.pid };
}

export function parseTag(comment: string | null): DatabaseTag | undefined {
  if (!comment) return undefined;
  try {
    const value: unknown = JSON.parse(comment);
    if (typeof value !== 'object' || value === null) return undefined;
    const { run, host, pid } = value as Record<string, unknown>;
    if ((run !== null && typeof run !== 'string') || typeof host !== 'string' || !Number.isInteger(pid)) return undefined;
    return { run, host, pid: pid as number };
  } catch {
    return undefined;
  }
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const quoteLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

export async function tagDatabase(admin: Sql, name: string, tag: DatabaseTag): Promise<void> {
  await admin.unsafe(`comment on database ${quoteIdent(name)} is ${quoteLiteral(JSON.stringify(tag))}`);
}

export interface TaggedDatabase {
  name: string;
  tag: DatabaseTag | undefined;
}

export async function listTestDatabases(admin: Sql): Promise<TaggedDatabase[]> {
  const rows = await admin<{ datname: string; comment: string | null }[]>`
    select datname, shobj_description(oid, 'pg_database') as comment
    from pg_database
    where starts_with(datname, ${TEST_DATABASE_PREFIX})`;
  return rows.map((row) => ({ name: row.datname, tag: parseTag(row.comment) }));
}

export async function dropDatabase(admin: Sql, name: string): Promise<void> {
  await admin.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
}
