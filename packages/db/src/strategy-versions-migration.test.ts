import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, runMigrations } from './migrate.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

/**
 * 0008_strategy_versions on a database that already holds strategies and executions: each
 * strategy becomes its own version 1 with its items, and each execution is pinned to it.
 */
let test: TestDatabase;
let folder: string;

beforeAll(async () => {
  test = await createTestDatabase({ migrate: false });
  // The migrations up to 0007, as a database made before versions existed has them.
  folder = await mkdtemp(join(tmpdir(), 'strata-migrations-'));
  await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const upTo = journal.entries.findIndex((entry) => entry.tag === '0007_fair_queue');
  journal.entries = journal.entries.slice(0, upTo + 1);
  await writeFile(journalPath, JSON.stringify(journal));
  const sql = postgres(test.url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder: folder });
  } finally {
    await sql.end();
  }
});
afterAll(async () => {
  await test?.drop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('0008_strategy_versions', () => {
  it('makes every stored strategy its own version 1 and pins its executions to it', async () => {
    await test.sql`insert into users (id, email, password_hash) values ('usr_1', 'a@example.com', 'x')`;
    await test.sql`insert into workspaces (id, name) values ('ws_1', 'W')`;
    await test.sql`insert into strategies (id, workspace_id, name, description, on_task_failure, created_by) values ('strat_1', 'ws_1', 'Old', 'Before versions', 'continue', 'usr_1')`;
    await test.sql`insert into strategy_items (id, strategy_id, level, title, position) values ('item_1', 'strat_1', 1, 'Grow', 1)`;
    for (const [id, key, position] of [
      ['l4_a', 'a', 0],
      ['l4_b', 'b', 1],
    ] as const) {
      await test.sql`insert into strategy_items (id, strategy_id, parent_id, level, key, title, agent_type, priority, max_retries, timeout_seconds, position)
        values (${id}, 'strat_1', 'item_1', 4, ${key}, ${key}, 'content', 'medium', 3, 300, ${position})`;
    }
    await test.sql`insert into executions (id, workspace_id, strategy_id, status, total_tasks) values ('exec_1_x', 'ws_1', 'strat_1', 'completed', 2)`;

    await runMigrations(test.url);

    expect(await test.sql`select strategy_id, version, name, description, on_task_failure, item_count, created_by from strategy_versions`).toEqual([
      { strategy_id: 'strat_1', version: 1, name: 'Old', description: 'Before versions', on_task_failure: 'continue', item_count: 2, created_by: 'usr_1' },
    ]);
    expect(await test.sql`select version, archived_at from strategies`).toEqual([{ version: 1, archived_at: null }]);
    expect((await test.sql`select distinct version from strategy_items`).map((r) => r.version)).toEqual([1]);
    expect(await test.sql`select strategy_version from executions`).toEqual([{ strategy_version: 1 }]);
    // The next version may reuse the keys of the first.
    await test.sql`insert into strategy_items (id, strategy_id, version, level, key, title, agent_type, priority, max_retries, timeout_seconds)
      values ('l4_a2', 'strat_1', 2, 4, 'a', 'a', 'content', 'medium', 3, 300)`;
    await expect(test.sql`insert into strategy_items (id, strategy_id, version, level, key, title, agent_type, priority, max_retries, timeout_seconds)
      values ('l4_a3', 'strat_1', 2, 4, 'a', 'a', 'content', 'medium', 3, 300)`).rejects.toThrow(/strategy_items_key_unique/);
  });
});
