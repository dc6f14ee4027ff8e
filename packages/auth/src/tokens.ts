import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { apiTokens, type Db, memberships, newId, users } from '@strata/db';
import { and, desc, eq, isNull, lte, or } from 'drizzle-orm';
import { z } from 'zod';
import { AuthError } from './errors.ts';
import { type AuthUser, authUserColumns } from './user.ts';

/** Tells API tokens from session tokens (base32 has no `_`) and makes leaked ones greppable. */
export const API_TOKEN_PREFIX = 'strata_';

/** lastUsedAt is a hint for people, not an audit log: one write a minute per token is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CreateApiTokenInput {
  userId: string;
  name: string;
  workspaceId?: string | null;
  expiresInDays?: number | null;
}

export interface CreatedApiToken {
  id: string;
  /** The secret; shown once, never stored. */
  token: string;
  name: string;
  workspaceId: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  workspaceId: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface ValidatedApiToken {
  user: AuthUser;
  token: { id: string; workspaceId: string | null };
}

const createSchema = z.object({
  name: z.string().trim().min(1, { error: 'is required' }).max(100),
  workspaceId: z.string().min(1).nullish(),
  expiresInDays: z.number().int().min(1).max(3650).nullish(),
});

export function hashApiToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

function generateApiTokenSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return API_TOKEN_PREFIX + encodeBase32LowerCaseNoPadding(bytes);
}

export async function createApiToken(db: Db, input: CreateApiTokenInput): Promise<CreatedApiToken> {
  const parsed = createSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuthError('VALIDATION', issue ? `${issue.path.join('.')}: ${issue.message}` : 'Invalid input');
  }
  const { name, expiresInDays } = parsed.data;
  const workspaceId = parsed.data.workspaceId ?? null;
  if (workspaceId) {
    // A token can narrow what its owner may do, never widen it: binding needs membership.
    const [member] = await db
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, input.userId)));
    if (!member) throw new AuthError('FORBIDDEN', 'Access denied');
  }
  const token = generateApiTokenSecret();
  const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * DAY_MS) : null;
  const [row] = await db
    .insert(apiTokens)
    .values({ id: newId('tok'), userId: input.userId, workspaceId, name, tokenHash: hashApiToken(token), expiresAt })
    .returning();
  return { id: row!.id, token, name: row!.name, workspaceId: row!.workspaceId, expiresAt: row!.expiresAt, createdAt: row!.createdAt };
}

/** A user's tokens, newest first; with `workspaceId`, only those bound to that workspace. */
export async function listApiTokens(db: Db, userId: string, filter: { workspaceId?: string } = {}): Promise<ApiTokenInfo[]> {
  return db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      workspaceId: apiTokens.workspaceId,
      createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), filter.workspaceId ? eq(apiTokens.workspaceId, filter.workspaceId) : undefined))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/**
 * Idempotent for the owner (a second revoke keeps the first revokedAt). Another user's token
 * answers NOT_FOUND, so ids cannot be probed.
 */
export async function revokeApiToken(db: Db, input: { userId: string; tokenId: string }): Promise<ApiTokenInfo> {
  const [revoked] = await db
    .update(apiTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiTokens.id, input.tokenId), eq(apiTokens.userId, input.userId), isNull(apiTokens.revokedAt)))
    .returning();
  const [row] = revoked
    ? [revoked]
    : await db
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.id, input.tokenId), eq(apiTokens.userId, input.userId)));
  if (!row) throw new AuthError('NOT_FOUND', 'Token not found');
  const { id, name, workspaceId, createdAt, expiresAt, revokedAt, lastUsedAt } = row;
  return { id, name, workspaceId, createdAt, expiresAt, revokedAt, lastUsedAt };
}

export async function validateApiToken(db: Db, token: string): Promise<ValidatedApiToken | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const [row] = await db
    .select({
      user: authUserColumns,
      id: apiTokens.id,
      workspaceId: apiTokens.workspaceId,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .innerJoin(users, eq(apiTokens.userId, users.id))
    .where(eq(apiTokens.tokenHash, hashApiToken(token)));
  if (!row || row.revokedAt) return null;
  const now = Date.now();
  if (row.expiresAt && now >= row.expiresAt.getTime()) return null;

  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    const staleBefore = new Date(now - LAST_USED_RESOLUTION_MS);
    // The condition is repeated in SQL so concurrent requests still write at most once.
    await db
      .update(apiTokens)
      .set({ lastUsedAt: new Date(now) })
      .where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lte(apiTokens.lastUsedAt, staleBefore))));
  }
  return { user: row.user, token: { id: row.id, workspaceId: row.workspaceId } };
}
