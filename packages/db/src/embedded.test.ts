import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from './client.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { runMigrations } from './migrate.ts';
import { workspaces } from './schema.ts';

const parent = mkdtempSync(join(tmpdir(), 'strata-embedded-'));
chmodSync(parent, 0o755);
const dataDir = join(parent, 'data');

afterAll(() => {
  rmSync(parent, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('initialises an empty folder, keeps data across a restart, and stops cleanly', async () => {
    const first = await startEmbeddedPostgres({ dataDir });
    expect(first.owned).toBe(true);
    await runMigrations(first.url);
    const a = createDatabase(first.url);
    await a.db.insert(workspaces).values({ id: 'ws_persisted', name: 'Kept across restarts' });
    const [row] = await a.sql`select version()`;
    expect(String(row?.version)).toMatch(/PostgreSQL 18/);
    await a.close();

    // A second start while the first runs joins it instead of fighting over the folder.
    const joined = await startEmbeddedPostgres({ dataDir });
    expect(joined.owned).toBe(false);
    expect(joined.port).toBe(first.port);

    await first.stop();
    const down = createDatabase(first.url);
    await expect(down.sql`select 1`).rejects.toThrow();
    await down.close();

    const second = await startEmbeddedPostgres({ dataDir });
    expect(second.owned).toBe(true);
    await runMigrations(second.url); // a no-op on the same data
    const b = createDatabase(second.url);
    const rows = await b.db.select().from(workspaces);
    expect(rows).toEqual([expect.objectContaining({ id: 'ws_persisted', name: 'Kept across restarts' })]);
    await b.close();
    await second.stop();
  });
});
