import { runDueMaintenance } from '@strata/engine';
import { createEngineHarness, type EngineHarness } from '@strata/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionTasks } from './retention.ts';

/**
 * The worker's retention list: every table it keeps small has its task, and webhook deliveries
 * (finished ones) go after RETENTION_DAYS, while one still pending stays whatever its age.
 */
let h: EngineHarness;
const DAY = 86_400_000;
const now = new Date('2026-12-01T12:00:00Z');

beforeAll(async () => {
  h = await createEngineHarness();
});
afterAll(async () => {
  await h?.close();
});

async function seedDeliveries(): Promise<void> {
  const sql = h.database.sql;
  const ws = await h.workspace();
  await sql`insert into webhooks (id, workspace_id, url, events, secret) values ('whk_ret', ${ws}, 'https://example.com/hook', '{execution.completed}', 'whsec_x')`;
  const rows: [string, string, number][] = [
    ['whd_old_done', 'succeeded', 31],
    ['whd_old_failed', 'failed', 45],
    ['whd_old_pending', 'pending', 31],
    ['whd_young_done', 'succeeded', 29],
  ];
  for (const [id, status, ageDays] of rows) {
    await sql`insert into webhook_deliveries (id, webhook_id, type, payload, status, created_at)
      values (${id}, 'whk_ret', 'webhook.test', '{}', ${status}, ${new Date(now.getTime() - ageDays * DAY).toISOString()}::timestamptz)`;
  }
}

describe('retentionTasks', () => {
  it('names one task per table, webhook deliveries included, and none for deliveries when RETENTION_DAYS is 0', () => {
    expect(retentionTasks(h.database.db, { retentionDays: 30 }).map((t) => t.name)).toEqual([
      'execution events',
      'expired sessions',
      'idempotency keys',
      'rate-limit windows',
      'login throttle rows',
      'webhook deliveries',
    ]);
    expect(retentionTasks(h.database.db, { retentionDays: 0 }).map((t) => t.name)).not.toContain('webhook deliveries');
  });

  it('removes finished webhook deliveries older than RETENTION_DAYS and keeps pending and younger ones', async () => {
    await seedDeliveries();
    const outcomes = await runDueMaintenance(h.database.db, retentionTasks(h.database.db, { retentionDays: 30 }), now);
    expect(outcomes.find((o) => o.name === 'webhook deliveries')).toEqual({ name: 'webhook deliveries', status: 'pruned', removed: 2 });
    const left = await h.database.sql<{ id: string }[]>`select id from webhook_deliveries order by id`;
    expect(left.map((r) => r.id)).toEqual(['whd_old_pending', 'whd_young_done']);
  });
});
