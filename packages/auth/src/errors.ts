/**
 * Typed auth failures. The API maps each code once to a status (UNAUTHORIZED 401,
 * FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409, VALIDATION 400, RATE_LIMITED 429); nothing here
 * knows HTTP.
 */
export type AuthErrorCode = 'UNAUTHORIZED' | 'FORBIDDEN' | 'CONFLICT' | 'VALIDATION' | 'NOT_FOUND' | 'RATE_LIMITED';

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  /** For RATE_LIMITED: when to try again (the API sends it as Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: AuthErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Postgres unique_violation, seen through drizzle's wrapper (it keeps the driver error as `cause`). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const pg = e as { code?: unknown; constraint_name?: unknown };
    if (pg.code === '23505') return constraint === undefined || pg.constraint_name === constraint;
  }
  return false;
}
