export type { AuthUser } from './user.ts';
export { AuthError, type AuthErrorCode } from './errors.ts';
export { hashPassword, verifyPassword } from './password.ts';
export {
  createSession,
  generateSessionToken,
  invalidateSession,
  invalidateUserSessions,
  pruneExpiredSessions,
  SESSION_COOKIE_NAME,
  SESSION_LIFETIME_MS,
  sessionIdFromToken,
  validateSessionToken,
  type Session,
  type SessionValidationResult,
} from './session.ts';
export { clearSessionCookieHeader, readSessionCookie, sessionCookieHeader, type CookieOptions } from './cookie.ts';
export {
  changePassword,
  logIn,
  signUp,
  type AttemptOptions,
  type ChangePasswordInput,
  type LogInInput,
  type SignUpInput,
} from './accounts.ts';
export { isCommonPassword, newPasswordSchema, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordProblem } from './password-policy.ts';
export { DEFAULT_LOGIN_THROTTLE, pruneLoginFailures, THROTTLED_MESSAGE, type LoginThrottleSettings } from './throttle.ts';
export { createWorkspace, listMemberships } from './workspaces.ts';
export { changeMemberRole, LAST_OWNER_MESSAGE, listMembers, removeMember, type Member } from './members.ts';
export {
  INVITATION_LIFETIME_MS,
  inviteMember,
  listPendingInvitations,
  listReceivedInvitations,
  respondToInvitation,
  revokeInvitation,
  type Invitation,
  type ReceivedInvitation,
} from './invitations.ts';
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
