import { apiTokens } from '@strata/db';
import { createTestDatabase, type TestDatabase } from '@strata/db/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authError, insertUser, insertWorkspace } from './testing.ts';
import { createApiToken, hashApiToken, listApiTokens, revokeApiToken, validateApiToken } from './tokens.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function stored(id: string) {
  const [row] = await t.db.select().from(apiTokens).where(eq(apiTokens.id, id));
  return row!;
}

describe('API tokens', () => {
  it('returns the secret once and stores only its SHA-256', async () => {
    const user = await insertUser(t.db);
    const created = await createApiToken(t.db, { userId: user.id, name: ' CI ' });
    expect(created).toEqual({
      id: expect.stringMatching(/^tok_/),
      token: expect.stringMatching(/^strata_[a-z2-7]{52}$/),
      name: 'CI',
      workspaceId: null,
      expiresAt: null,
      createdAt: expect.any(Date),
    });
    const row = await stored(created.id);
    expect(row.tokenHash).toBe(hashApiToken(created.token));
    expect(JSON.stringify(row)).not.toContain(created.token.slice('strata_'.length));
  });

  it('validates to the user and the bound workspace', async () => {
    const user = await insertUser(t.db);
    const ws = await insertWorkspace(t.db, [{ userId: user.id, role: 'operator' }]);
    const created = await createApiToken(t.db, { userId: user.id, name: 'bound', workspaceId: ws, expiresInDays: 30 });
    expect(Math.abs(created.expiresAt!.getTime() - (Date.now() + 30 * DAY_MS))).toBeLessThan(5000);
    expect(await validateApiToken(t.db, created.token)).toEqual({ user, token: { id: created.id, workspaceId: ws } });
  });

  it('refuses unknown, malformed and session-shaped tokens', async () => {
    expect(await validateApiToken(t.db, 'strata_doesnotexist')).toBeNull();
    expect(await validateApiToken(t.db, '')).toBeNull();
    const user = await insertUser(t.db);
    const { token } = await createApiToken(t.db, { userId: user.id, name: 'x' });
    expect(await validateApiToken(t.db, token.slice('strata_'.length))).toBeNull();
  });

  it('refuses a token at once after it is revoked', async () => {
    const user = await insertUser(t.db);
    const created = await createApiToken(t.db, { userId: user.id, name: 'soon gone' });
    expect(await validateApiToken(t.db, created.token)).not.toBeNull();
    const revoked = await revokeApiToken(t.db, { userId: user.id, tokenId: created.id });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await validateApiToken(t.db, created.token)).toBeNull();
  });

  it('keeps the first revocation time when revoked twice', async () => {
    const user = await insertUser(t.db);
    const created = await createApiToken(t.db, { userId: user.id, name: 'twice' });
    const first = await revokeApiToken(t.db, { userId: user.id, tokenId: created.id });
    const second = await revokeApiToken(t.db, { userId: user.id, tokenId: created.id });
    expect(second.revokedAt).toEqual(first.revokedAt);
  });

  it("cannot revoke another user's token, which keeps working", async () => {
    const [owner, other] = [await insertUser(t.db), await insertUser(t.db)];
    const created = await createApiToken(t.db, { userId: owner.id, name: 'mine' });
    const error = await authError(revokeApiToken(t.db, { userId: other.id, tokenId: created.id }));
    expect(error.code).toBe('NOT_FOUND');
    expect((await stored(created.id)).revokedAt).toBeNull();
    expect(await validateApiToken(t.db, created.token)).not.toBeNull();
  });

  it('answers NOT_FOUND for an unknown token id', async () => {
    const user = await insertUser(t.db);
    expect((await authError(revokeApiToken(t.db, { userId: user.id, tokenId: 'tok_nope' }))).code).toBe('NOT_FOUND');
  });

  it('refuses an expired token', async () => {
    const user = await insertUser(t.db);
    const created = await createApiToken(t.db, { userId: user.id, name: 'old', expiresInDays: 1 });
    await t.db.update(apiTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiTokens.id, created.id));
    expect(await validateApiToken(t.db, created.token)).toBeNull();
  });

  it('records use at most once a minute', async () => {
    const user = await insertUser(t.db);
    const created = await createApiToken(t.db, { userId: user.id, name: 'busy' });
    expect((await stored(created.id)).lastUsedAt).toBeNull();
    await validateApiToken(t.db, created.token);
    const first = (await stored(created.id)).lastUsedAt;
    expect(first).toBeInstanceOf(Date);
    await validateApiToken(t.db, created.token);
    expect((await stored(created.id)).lastUsedAt).toEqual(first);

    const twoMinutesAgo = new Date(Date.now() - 2 * 60_000);
    await t.db.update(apiTokens).set({ lastUsedAt: twoMinutesAgo }).where(eq(apiTokens.id, created.id));
    await validateApiToken(t.db, created.token);
    expect((await stored(created.id)).lastUsedAt!.getTime()).toBeGreaterThan(twoMinutesAgo.getTime() + 60_000);
  });

  it("lists a user's tokens, newest first, without secrets or hashes", async () => {
    const [user, other] = [await insertUser(t.db), await insertUser(t.db)];
    const a = await createApiToken(t.db, { userId: user.id, name: 'a' });
    const b = await createApiToken(t.db, { userId: user.id, name: 'b' });
    await createApiToken(t.db, { userId: other.id, name: 'not yours' });
    await revokeApiToken(t.db, { userId: user.id, tokenId: a.id });
    const list = await listApiTokens(t.db, user.id);
    expect(list.map((x) => x.id)).toEqual([b.id, a.id]);
    expect(list[1]?.revokedAt).toBeInstanceOf(Date);
    for (const info of list) {
      expect(Object.keys(info).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'workspaceId']);
    }
  });

  it('refuses to bind a token to a workspace its owner is not in', async () => {
    const user = await insertUser(t.db);
    const ws = await insertWorkspace(t.db);
    const error = await authError(createApiToken(t.db, { userId: user.id, name: 'x', workspaceId: ws }));
    expect(error.code).toBe('FORBIDDEN');
  });

  it.each([
    [{ name: '' }, /^name: /],
    [{ name: 'x'.repeat(101) }, /^name: /],
    [{ name: 'x', expiresInDays: 0 }, /^expiresInDays: /],
    [{ name: 'x', expiresInDays: 1.5 }, /^expiresInDays: /],
  ])('refuses invalid input %j', async (input, message) => {
    const user = await insertUser(t.db);
    const error = await authError(createApiToken(t.db, { userId: user.id, ...input }));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(message);
  });
});
