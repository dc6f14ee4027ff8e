export type { AuthUser } from './user.ts';
export { AuthError, type AuthErrorCode } from './errors.ts';
export { hashPassword, verifyPassword } from './password.ts';
export {
  createSession,
  generateSessionToken,
  invalidateSession,
  invalidateUserSessions,
  SESSION_COOKIE_NAME,
  SESSION_LIFETIME_MS,
  sessionIdFromToken,
  validateSessionToken,
  type Session,
  type SessionValidationResult,
} from './session.ts';
export { clearSessionCookieHeader, readSessionCookie, sessionCookieHeader, type CookieOptions } from './cookie.ts';
export { logIn, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, signUp, type LogInInput, type SignUpInput } from './accounts.ts';
export {
  API_TOKEN_PREFIX,
  createApiToken,
  hashApiToken,
  listApiTokens,
  revokeApiToken,
  validateApiToken,
  type ApiTokenInfo,
  type CreateApiTokenInput,
  type CreatedApiToken,
  type ValidatedApiToken,
} from './tokens.ts';
export { authenticate, type CredentialsInput, type Principal, principalFromCredential } from './credentials.ts';
export { roleAllows, workspaceRole, type Permission, type Role } from './roles.ts';
