import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from './migrate.ts';
import { executions, strategies, tasks, workspaces } from './schema.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';
import { newExecutionId, newId } from './ids.ts';

let test: TestDatabase;

beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => {
  await test?.drop();
});

describe('migrations', () => {
  it('create every table DESIGN.md names', async () => {
    const rows = await test.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    const names = rows.map((r) => r.table_name);
    for (const table of [
      'users',
      'sessions',
      'api_tokens',
      'workspaces',
      'memberships',
      'strategies',
      'strategy_items',
      'executions',
      'tasks',
      'task_dependencies',
      'execution_events',
      'rate_limits',
      'idempotency_keys',
    ]) {
      expect(names).toContain(table);
    }
  });

  it('re-running is a no-op', async () => {
    const before = await test.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await runMigrations(test.url);
    await Promise.all([runMigrations(test.url), runMigrations(test.url)]);
    const after = await test.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('creates the indexes the queries need', async () => {
    const rows = await test.sql<{ indexname: string }[]>`select indexname from pg_indexes where schemaname = 'public'`;
    const names = rows.map((r) => r.indexname);
    expect(names).toContain('tasks_execution_status_idx');
    expect(names).toContain('execution_events_execution_idx');
  });
});

describe('check constraints', () => {
  it('refuse statuses outside the lifecycle', async () => {
    const wsId = newId('ws');
    const stratId = newId('strat');
    await test.db.insert(workspaces).values({ id: wsId, name: 'w' });
    await test.db.insert(strategies).values({ id: stratId, workspaceId: wsId, name: 's' });
    const bad = test.sql`insert into executions (id, workspace_id, strategy_id, status) values (${newExecutionId()}, ${wsId}, ${stratId}, 'exploded')`;
    await expect(bad).rejects.toThrow(/executions_status_check/);
    const execId = newExecutionId();
    await test.db.insert(executions).values({ id: execId, workspaceId: wsId, strategyId: stratId, totalTasks: 1 });
    const overCount = test.sql`update executions set completed_tasks = 2 where id = ${execId}`;
    await expect(overCount).rejects.toThrow(/executions_counts_check/);
    const badTask = test.sql`insert into tasks (id, execution_id, workspace_id, l4_item_id, agent_type, status, priority, description, max_retries, timeout_seconds)
      values ('task_x', ${execId}, ${wsId}, 'l4_missing', 'email', 'pending', 'urgent', 'd', 3, 300)`;
    await expect(badTask).rejects.toThrow();
    expect(tasks).toBeDefined();
  });

  it('refuse unknown event types', async () => {
    const bad = test.sql`insert into execution_events (execution_id, type) values ('exec_none', 'task-exploded')`;
    await expect(bad).rejects.toThrow(/execution_events_type_check|foreign key/);
  });
});
