import { loginFailures, sessions } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { changePassword, logIn, signUp } from './accounts.ts';
import { createSession, generateSessionToken, sessionIdFromToken } from './session.ts';
import { authError } from './testing.ts';
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleSettings } from './throttle.ts';

let t: TestDatabase;
const PASSWORD = 'the right password';
const MINUTE = 60_000;
const START = new Date('2030-01-01T12:00:00Z');
let clock: Date;
const throttle: LoginThrottleSettings = { ...DEFAULT_LOGIN_THROTTLE, now: () => clock };
const at = (ms: number) => {
  clock = new Date(START.getTime() + ms);
};
const attempt = (email: string, password: string, clientAddress: string | null = null) => logIn(t.db, { email, password }, { clientAddress, throttle });

beforeAll(async () => {
  t = await createTestDatabase();
  for (const name of ['ada', 'bob', 'cy', 'dee', 'eve']) await signUp(t.db, { email: `${name}@example.com`, password: PASSWORD });
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  await t.db.delete(loginFailures);
  at(0);
});

describe('login throttling per account', () => {
  it('after 10 failures refuses even the right password, before verifying it, until the window passes', async () => {
    for (let i = 0; i < 10; i++) {
      at(i * MINUTE);
      expect((await authError(attempt('ada@example.com', 'wrong guess'))).code).toBe('UNAUTHORIZED');
    }
    at(10 * MINUTE);
    const refused = await authError(attempt('Ada@Example.com', PASSWORD));
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: 'Too many failed logins; try again later' });
    // The oldest failure (at 0) leaves the 15-minute window in 5 minutes.
    expect(refused.retryAfterSeconds).toBe(5 * 60);
    // A refused attempt is not a failure: it does not push the window further out.
    expect((await t.db.select().from(loginFailures).where(eq(loginFailures.key, 'account:ada@example.com'))).length).toBe(10);

    at(15 * MINUTE - 1);
    expect((await authError(attempt('ada@example.com', PASSWORD))).retryAfterSeconds).toBe(1);
    at(15 * MINUTE);
    expect((await attempt('ada@example.com', PASSWORD)).email).toBe('ada@example.com');
  });

  it('forgives earlier failures on a success below the limit', async () => {
    for (let i = 0; i < 9; i++) await authError(attempt('bob@example.com', 'typo'));
    await attempt('bob@example.com', PASSWORD);
    for (let i = 0; i < 9; i++) await authError(attempt('bob@example.com', 'typo'));
    expect((await attempt('bob@example.com', PASSWORD)).email).toBe('bob@example.com');
  });

  it('counts unknown emails like known ones, so a 429 reveals no account', async () => {
    for (let i = 0; i < 10; i++) await authError(attempt('nobody@example.com', 'guess'));
    expect((await authError(attempt('nobody@example.com', 'guess'))).code).toBe('RATE_LIMITED');
  });

  it('lets no more than 10 concurrent attempts through the check (a batch of guesses)', async () => {
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => attempt('cy@example.com', 'parallel guess')));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'OK'));
    expect(codes.filter((c) => c === 'UNAUTHORIZED').length).toBeLessThanOrEqual(10);
    expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(15);
    // Refused attempts leave nothing behind; each guess that was checked is one failure.
    const [row] = await t.db.select({ n: sql<number>`count(*)::int` }).from(loginFailures).where(eq(loginFailures.key, 'account:cy@example.com'));
    expect(row?.n).toBe(codes.filter((c) => c === 'UNAUTHORIZED').length);
  });
});

describe('login throttling per client address', () => {
  it('refuses an address that failed 50 times across many accounts, while other addresses still log in', async () => {
    for (let i = 0; i < 50; i++) await authError(attempt(`spray-${i}@example.com`, 'password', '203.0.113.7'));
    const refused = await authError(attempt('dee@example.com', PASSWORD, '203.0.113.7'));
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.retryAfterSeconds).toBe(15 * 60);
    expect((await attempt('dee@example.com', PASSWORD, '198.51.100.1')).email).toBe('dee@example.com');
    // A success from the address does not reset its count (an attacker could log into an account of their own).
    at(MINUTE);
    expect((await authError(attempt('dee@example.com', PASSWORD, '203.0.113.7'))).code).toBe('RATE_LIMITED');
  });

  it('counts an IPv6 client by its /64, so rotating addresses inside it does not reset the count', async () => {
    for (let i = 0; i < 50; i++) await authError(attempt(`v6-${i}@example.com`, 'password', `2001:db8:7:7::${(i + 1).toString(16)}`));
    expect((await authError(attempt('dee@example.com', PASSWORD, '2001:db8:7:7:ffff::1'))).code).toBe('RATE_LIMITED');
    expect((await attempt('dee@example.com', PASSWORD, '2001:db8:7:8::1')).email).toBe('dee@example.com');
  });

  it('prunes failures that have left the window as new ones are recorded', async () => {
    await t.db.insert(loginFailures).values(Array.from({ length: 30 }, () => ({ key: 'account:old@example.com', failedAt: new Date(START.getTime() - 20 * MINUTE) })));
    await authError(attempt('eve@example.com', 'wrong'));
    const [row] = await t.db.select({ n: sql<number>`count(*)::int` }).from(loginFailures).where(eq(loginFailures.key, 'account:old@example.com'));
    expect(row?.n).toBe(0);
  });
});

describe('changing a password', () => {
  it('needs the current password, applies the policy, and ends every other session', async () => {
    const user = await signUp(t.db, { email: 'fay@example.com', password: PASSWORD });
    const tokens = [generateSessionToken(), generateSessionToken(), generateSessionToken()];
    for (const token of tokens) await createSession(t.db, token, user.id);
    const keep = sessionIdFromToken(tokens[0]!);

    const wrong = await authError(changePassword(t.db, { userId: user.id, currentPassword: 'not it', newPassword: 'a brand new secret', keepSessionId: keep }, { throttle }));
    expect(wrong).toMatchObject({ code: 'FORBIDDEN', message: 'Current password is incorrect' });
    const weak = await authError(changePassword(t.db, { userId: user.id, currentPassword: PASSWORD, newPassword: 'iloveyou', keepSessionId: keep }, { throttle }));
    expect(weak).toMatchObject({ code: 'VALIDATION', message: 'newPassword: this password is too common' });
    expect((await logIn(t.db, { email: 'fay@example.com', password: PASSWORD })).id).toBe(user.id);

    await changePassword(t.db, { userId: user.id, currentPassword: PASSWORD, newPassword: 'a brand new secret', keepSessionId: keep }, { throttle });
    expect((await t.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, user.id))).map((s) => s.id)).toEqual([keep]);
    expect((await authError(logIn(t.db, { email: 'fay@example.com', password: PASSWORD }))).code).toBe('UNAUTHORIZED');
    expect((await logIn(t.db, { email: 'fay@example.com', password: 'a brand new secret' })).id).toBe(user.id);

    // Without a session to keep (an API token), every session ends.
    await changePassword(t.db, { userId: user.id, currentPassword: 'a brand new secret', newPassword: 'yet another secret' }, { throttle });
    expect(await t.db.select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
  });

  it('counts a wrong current password as a failed login', async () => {
    const user = await signUp(t.db, { email: 'gus@example.com', password: PASSWORD });
    for (let i = 0; i < 10; i++) {
      expect((await authError(changePassword(t.db, { userId: user.id, currentPassword: `guess ${i}`, newPassword: 'a brand new secret' }, { throttle }))).code).toBe('FORBIDDEN');
    }
    expect((await authError(changePassword(t.db, { userId: user.id, currentPassword: PASSWORD, newPassword: 'a brand new secret' }, { throttle }))).code).toBe('RATE_LIMITED');
    expect((await authError(attempt('gus@example.com', PASSWORD))).code).toBe('RATE_LIMITED');
  });
});
