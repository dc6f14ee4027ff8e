import type { ApiTokenInfo } from './api-types.ts';

/** Whether a token still works: revoked wins over expired. */
export function tokenState(token: Pick<ApiTokenInfo, 'revokedAt' | 'expiresAt'>, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return 'expired';
  return 'active';
}
