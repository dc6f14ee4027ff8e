import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, runMigrations, workspaces, newId } from '@strata/db';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@strata/db/embedded';
import { guardFolder } from '@strata/db/test-server';
import { createStrategy, ensureAgentQueues, getExecutionStatus, pgBossTaskQueue, startExecution } from '@strata/engine';
import { PgBoss } from 'pg-boss';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWorker, type WorkerProcess } from '../test/processes.ts';

/** PostgreSQL itself restarted mid-run: the test runs its own server and stops and starts it. */
const parent = mkdtempSync(join(tmpdir(), 'strata-restart-'));
chmodSync(parent, 0o755);
// Its server is not stopped by a Ctrl-C (its own process group): the guard stops it and removes the folder however this file ends.
const guard = await guardFolder(parent);
const dataDir = join(parent, 'data');
let server: EmbeddedPostgres | undefined;
const workers: WorkerProcess[] = [];

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await server?.stop();
  await guard.close();
});

describe('a PostgreSQL restart mid-run', () => {
  it('is survived by the workers: the execution completes with exact counts and nothing run twice', async () => {
    server = await startEmbeddedPostgres({ dataDir });
    const url = server.url;
    await runMigrations(url);
    const database = createDatabase(url);
    await database.sql`create table test_runs (task_id text, attempt int, pid int, at timestamptz default now())`;
    const boss = new PgBoss({ connectionString: url, schedule: false, supervise: false });
    boss.on('error', () => {});
    await boss.start();
    await ensureAgentQueues(boss);
    const ctx = { db: database.db, queue: pgBossTaskQueue(boss), retry: { baseMs: 200, maxMs: 2000 } };
    workers.push(await spawnWorker(url, { TASK_LEASE_SECONDS: '10' }), await spawnWorker(url, { TASK_LEASE_SECONDS: '10' }));
    const workspaceId = newId('ws');
    await database.db.insert(workspaces).values({ id: workspaceId, name: 'restart' });
    const items = Array.from({ length: 30 }, (_, i) => ({ key: `t${i}`, description: `T${i}`, agentType: 'research', dependsOn: i % 3 ? [`t${i - 1}`] : [], input: { delayMs: 150 } }));
    const strategy = await createStrategy(database.db, { workspaceId, name: 'restart', items });
    const execution = await startExecution(ctx, { strategyId: strategy.id, workspaceId });
    await boss.stop({ graceful: false, close: true });

    await new Promise((r) => setTimeout(r, 800));
    const port = server.port;
    await server.stop();
    await new Promise((r) => setTimeout(r, 3000)); // unreachable for a while
    server = await startEmbeddedPostgres({ dataDir, port });

    const deadline = Date.now() + 120_000;
    let status = await getExecutionStatus(database.db, execution.id).catch(() => undefined);
    while (Date.now() < deadline && !(status?.execution.status === 'completed' && status.execution.completedAt)) {
      await new Promise((r) => setTimeout(r, 250));
      status = await getExecutionStatus(database.db, execution.id).catch(() => undefined);
    }
    expect(status?.execution).toMatchObject({ status: 'completed', totalTasks: 30, completedTasks: 30, failedTasks: 0 });
    const [counts] = await database.sql`select count(*) filter (where status = 'completed')::int as completed from tasks where execution_id = ${execution.id}`;
    expect(counts?.completed).toBe(30);
    const [twice] = await database.sql`select count(*)::int as n from (select task_id from test_runs group by task_id having count(*) > 1) d`;
    // A task whose result could not be recorded while the database was away is retried, not dropped;
    // with leases longer than the outage, none is run twice.
    expect(twice?.n).toBe(0);
    expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
    await database.close();
  });
});
