import { createDatabase } from '@strata/db';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { onHook } from './hooks.ts';
import { startExecution } from './lifecycle.ts';
import { useEngineHarness } from './test-harness.ts';
import { type EngineHarness, until } from './testing.ts';
import { transaction } from './tx.ts';

/** Item 12 of issue 10: failover is not a restart; the isolation level is pinned. */
let h: EngineHarness;
useEngineHarness((created) => {
  h = created;
});

describe('transactions', () => {
  it('run READ COMMITTED on a server whose default is stricter', async () => {
    const [{ name } = { name: '' }] = await h.database.sql<{ name: string }[]>`select current_database() as name`;
    await h.database.sql.unsafe(`alter database "${name}" set default_transaction_isolation = 'serializable'`);
    const strict = createDatabase(h.database.url);
    try {
      const [plain] = await strict.sql<{ level: string }[]>`select current_setting('transaction_isolation') as level`;
      expect(plain?.level).toBe('serializable');
      const level = await transaction(strict.db, async (tx) => {
        const [row] = await tx.execute<{ level: string }>(sql`select current_setting('transaction_isolation') as level`);
        return row?.level;
      });
      expect(level).toBe('read committed');
    } finally {
      await strict.close();
      await h.database.sql.unsafe(`alter database "${name}" reset default_transaction_isolation`);
    }
  });
});

describe('a worker that lost the database for longer than a lease', () => {
  it('renews its lapsed leases when it gets the database back, and its sweep does not reap them first', async () => {
    const gate = Promise.withResolvers<void>();
    h.registry.register('research', () => gate.promise.then(() => 'survived'));
    let databaseDown = false;
    let failedRenewals = 0;
    // The worker's renewals fail as they do while the database is unreachable (a failover).
    onHook('worker:renew', () => {
      if (!databaseDown) return;
      failedRenewals++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    const worker = await h.startWorker({ leaseSeconds: 2, sweepIntervalMs: 100 });
    const ws = await h.workspace();
    const strategyId = await h.strategy(ws, [{ key: 'long', description: 'long', agentType: 'research', maxRetries: 3 }]);
    const execution = await startExecution(h.ctx, { strategyId, workspaceId: ws });
    const lease = async () => {
      const [row] = await h.database.sql<{ status: string; lapsed: boolean; attempt: number }[]>`
        select status, lease_expires_at < now() as lapsed, attempt from tasks where execution_id = ${execution.id}`;
      return row!;
    };
    await until('the task to run', async () => (await lease()).status === 'in_progress');
    databaseDown = true;
    await until('the lease to lapse during the outage', async () => (await lease()).lapsed && failedRenewals >= 2);
    databaseDown = false;
    await until('the lease to be renewed after the outage', async () => {
      const row = await lease();
      return row.status === 'in_progress' && !row.lapsed;
    });
    expect((await lease()).attempt).toBe(1);
    gate.resolve();
    const done = await h.waitForStatus(execution.id, ['completed', 'failed']);
    expect(done.tasks[0]).toMatchObject({ status: 'completed', retry_count: 0, result: 'survived' });
    await worker.stop();
  });
});
