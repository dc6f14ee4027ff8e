import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMemberRole, removeMember } from './members.ts';
import { insertUser, insertWorkspace } from './testing.ts';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const owners = async (workspaceId: string) => (await t.sql`select count(*)::int as n from memberships where workspace_id = ${workspaceId} and role = 'owner'`)[0]!.n;

/** Resolves once another connection of this database waits on a lock (the second change, queued behind the first). */
async function someoneWaitsOnALock(): Promise<boolean> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    const [row] = await t.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
    if (row!.n > 0) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return false;
}

describe('the last owner, under concurrent changes', () => {
  it.each([
    ['demote themselves', 'demote'],
    ['remove themselves', 'remove'],
  ] as const)('two owners who %s at once leave one owner: the second waits for the first and then gets 409', async (_, kind) => {
    const [a, b] = [await insertUser(t.db), await insertUser(t.db)];
    const workspaceId = await insertWorkspace(t.db, [
      { userId: a.id, role: 'owner' },
      { userId: b.id, role: 'owner' },
    ]);
    const change = (userId: string, beforeWrite?: () => Promise<void>) =>
      kind === 'demote'
        ? changeMemberRole(t.db, { workspaceId, actorId: userId, userId, role: 'admin' }, { beforeWrite })
        : removeMember(t.db, { workspaceId, actorId: userId, userId }, { beforeWrite });

    // The first change has passed its last-owner check and is about to write; it waits there
    // while the second one starts. Without the workspace lock the second would pass the same
    // check (two owners) and both would write, leaving none.
    const arrived = Promise.withResolvers<void>();
    const proceed = Promise.withResolvers<void>();
    const first = change(a.id, async () => {
      arrived.resolve();
      await proceed.promise;
    });
    await arrived.promise;
    const secondArrived = Promise.withResolvers<void>();
    const second = change(b.id, async () => secondArrived.resolve());
    // Either the second queues behind the first's lock, or (without a lock) it reaches its write too.
    await Promise.race([secondArrived.promise, someoneWaitsOnALock()]);
    proceed.resolve();

    const results = await Promise.allSettled([first, second]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'CONFLICT' } });
    expect(await owners(workspaceId)).toBe(1);
  });
});
