import { loginFailures, sessions, users } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneExpiredSessions } from './session.ts';
import { DEFAULT_LOGIN_THROTTLE, pruneLoginFailures } from './throttle.ts';

let t: TestDatabase;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.insert(users).values({ id: 'usr_ret', email: 'ret@example.com', passwordHash: 'x', name: 'R' });
});
afterAll(async () => {
  await t?.drop();
});

describe('retention in auth', () => {
  it('removes only sessions that expired by now', async () => {
    await t.db.insert(sessions).values([
      { id: 'expired', userId: 'usr_ret', expiresAt: at(-1) },
      { id: 'expires-now', userId: 'usr_ret', expiresAt: at(0) },
      { id: 'valid', userId: 'usr_ret', expiresAt: at(1) },
    ]);
    expect(await pruneExpiredSessions(t.db, NOW)).toBe(2);
    expect((await t.db.select().from(sessions)).map((s) => s.id)).toEqual(['valid']);
  });

  it('removes only failed-login rows that left the throttle window', async () => {
    const window = DEFAULT_LOGIN_THROTTLE.windowMs;
    await t.db.insert(loginFailures).values([
      { key: 'account:old@example.com', failedAt: at(-window - 1) },
      { key: 'client:10.0.0.1', failedAt: at(-window) },
      { key: 'account:new@example.com', failedAt: at(-window + 1) },
    ]);
    expect(await pruneLoginFailures(t.db, NOW)).toBe(2);
    expect((await t.db.select().from(loginFailures)).map((f) => f.key)).toEqual(['account:new@example.com']);
  });
});
