import { apiTokens, type Db, sessions, users } from '@strata/db';
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { readSessionCookie } from './cookie.ts';
import { validateSessionToken } from './session.ts';
import { API_TOKEN_PREFIX, validateApiToken } from './tokens.ts';
import { type AuthUser, authUserColumns } from './user.ts';

/** Who is calling, however they proved it. */
export interface Principal {
  user: AuthUser;
  kind: 'session' | 'token';
  /** For a session: its id (to log out) and its expiry, pushed back on renewal so the cookie can follow. */
  sessionId?: string;
  sessionExpiresAt?: Date;
  tokenId?: string;
  /** A token bound to one workspace acts only there; null for sessions and unbound tokens. */
  tokenWorkspaceId: string | null;
}

export interface CredentialsInput {
  /** The raw Authorization header. */
  authorization?: string | null;
  /** The raw Cookie header. */
  cookie?: string | null;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * A Bearer header, when present, decides alone: a bad one is not rescued by a cookie, so a
 * request never runs as someone other than the credential it named.
 */
export async function authenticate(db: Db, input: CredentialsInput): Promise<Principal | null> {
  const header = input.authorization?.trim();
  if (header && /^bearer\b/i.test(header)) {
    const token = BEARER.exec(header)?.[1];
    return token ? fromToken(db, token) : null;
  }
  const cookieToken = readSessionCookie(input.cookie);
  return cookieToken ? fromSession(db, cookieToken) : null;
}

function fromToken(db: Db, token: string): Promise<Principal | null> {
  return token.startsWith(API_TOKEN_PREFIX) ? fromApiToken(db, token) : fromSession(db, token);
}

async function fromApiToken(db: Db, token: string): Promise<Principal | null> {
  const result = await validateApiToken(db, token);
  if (!result) return null;
  return { user: result.user, kind: 'token', tokenId: result.token.id, tokenWorkspaceId: result.token.workspaceId };
}

async function fromSession(db: Db, token: string): Promise<Principal | null> {
  const { session, user } = await validateSessionToken(db, token);
  if (!session) return null;
  return { user, kind: 'session', sessionId: session.id, sessionExpiresAt: session.expiresAt, tokenWorkspaceId: null };
}

/**
 * The principal of a credential named by id (a stream ticket remembers which one issued it),
 * or null when that session or API token has ended since.
 */
export async function principalFromCredential(db: Db, credential: { sessionId: string | null; tokenId: string | null }): Promise<Principal | null> {
  if (credential.tokenId) {
    const [row] = await db
      .select({ user: authUserColumns, workspaceId: apiTokens.workspaceId })
      .from(apiTokens)
      .innerJoin(users, eq(apiTokens.userId, users.id))
      .where(and(eq(apiTokens.id, credential.tokenId), isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql`now()`))));
    return row ? { user: row.user, kind: 'token', tokenId: credential.tokenId, tokenWorkspaceId: row.workspaceId } : null;
  }
  if (!credential.sessionId) return null;
  const [row] = await db
    .select({ user: authUserColumns, expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(sessions.userId, users.id))
    .where(and(eq(sessions.id, credential.sessionId), gt(sessions.expiresAt, sql`now()`)));
  return row ? { user: row.user, kind: 'session', sessionId: credential.sessionId, sessionExpiresAt: row.expiresAt, tokenWorkspaceId: null } : null;
}
