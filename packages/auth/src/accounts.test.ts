import { users } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, signUp } from './accounts.ts';
import { authError } from './testing.ts';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('sign-up', () => {
  it('creates a user with a lower-cased email and an argon2id hash', async () => {
    const user = await signUp(t.db, { email: '  Ada@Example.COM ', password: 'correct horse', name: 'Ada' });
    expect(user).toEqual({ id: expect.stringMatching(/^usr_/), email: 'ada@example.com', name: 'Ada' });
    expect(user).not.toHaveProperty('passwordHash');
    const [row] = await t.db.select().from(users).where(eq(users.id, user.id));
    expect(row?.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('stores no name when none or a blank one is given', async () => {
    expect((await signUp(t.db, { email: 'noname@example.com', password: 'password one' })).name).toBeNull();
    expect((await signUp(t.db, { email: 'blank@example.com', password: 'password one', name: '  ' })).name).toBeNull();
  });

  it('refuses a duplicate email, whatever its case', async () => {
    await signUp(t.db, { email: 'dup@example.com', password: 'password one' });
    const error = await authError(signUp(t.db, { email: 'DUP@Example.com', password: 'password two' }));
    expect(error.code).toBe('CONFLICT');
  });

  it('keeps one account when two sign-ups race', async () => {
    const results = await Promise.allSettled([
      signUp(t.db, { email: 'race@example.com', password: 'password one' }),
      signUp(t.db, { email: 'Race@example.com', password: 'password one' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses a password shorter than 8 characters', async () => {
    const error = await authError(signUp(t.db, { email: 'short@example.com', password: 'seven77' }));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^password: /);
  });

  it('accepts 256 characters and refuses a password longer than 256 characters', async () => {
    expect((await signUp(t.db, { email: 'long-ok@example.com', password: 'xy'.repeat(128) })).email).toBe('long-ok@example.com');
    const error = await authError(signUp(t.db, { email: 'long@example.com', password: 'x'.repeat(257) }));
    expect(error).toMatchObject({ code: 'VALIDATION', message: 'password: must be at most 256 characters' });
  });

  it.each([
    ['eight spaces', ' '.repeat(8), 'password: must not be blank'],
    ['tabs and newlines', '\t\n \t\n \t\n', 'password: must not be blank'],
    ['12345678', '12345678', 'password: this password is too common'],
    ['a common password in capitals', 'PassWord1', 'password: this password is too common'],
    ['qwertyuiop', 'qwertyuiop', 'password: this password is too common'],
  ])('refuses %s, saying why', async (_, password, message) => {
    const error = await authError(signUp(t.db, { email: 'weak@example.com', password }));
    expect(error).toMatchObject({ code: 'VALIDATION', message });
    expect(await t.db.select().from(users).where(eq(users.email, 'weak@example.com'))).toHaveLength(0);
  });

  it.each(['not-an-email', 'a@', '@example.com', ''])('refuses the email %j', async (email) => {
    const error = await authError(signUp(t.db, { email, password: 'password one' }));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^email: /);
  });
});

describe('log-in', () => {
  beforeAll(async () => {
    await signUp(t.db, { email: 'grace@example.com', password: 'right password', name: 'Grace' });
  });

  it('returns the user for the right password, whatever the email case', async () => {
    const user = await logIn(t.db, { email: 'Grace@EXAMPLE.com', password: 'right password' });
    expect(user).toEqual({ id: expect.stringMatching(/^usr_/), email: 'grace@example.com', name: 'Grace' });
  });

  it('refuses a wrong password', async () => {
    const error = await authError(logIn(t.db, { email: 'grace@example.com', password: 'wrong password' }));
    expect(error.code).toBe('UNAUTHORIZED');
  });

  it('refuses an unknown email with the same error as a wrong password', async () => {
    const unknown = await authError(logIn(t.db, { email: 'nobody@example.com', password: 'right password' }));
    const wrong = await authError(logIn(t.db, { email: 'grace@example.com', password: 'nope nope' }));
    expect(unknown.code).toBe('UNAUTHORIZED');
    expect(unknown.message).toBe(wrong.message);
  });

  it('refuses an oversized password without hashing it', async () => {
    const error = await authError(logIn(t.db, { email: 'grace@example.com', password: 'x'.repeat(10_000) }));
    expect(error.code).toBe('UNAUTHORIZED');
  });

  it('refuses input of the wrong shape', async () => {
    const error = await authError(logIn(t.db, { email: 42, password: null } as never));
    expect(error.code).toBe('VALIDATION');
  });
});
