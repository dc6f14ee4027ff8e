import { SESSION_COOKIE_NAME } from './session.ts';

/**
 * The session cookie for framework-free callers (the REST adapter builds Responses by hand).
 * HttpOnly keeps it from scripts; SameSite=Lax keeps it off cross-site POSTs.
 */
export interface CookieOptions {
  /** Off only for plain-http development. */
  secure?: boolean;
}

/** The `strata_session` value from a raw Cookie header, or null. */
export function readSessionCookie(cookieHeader: string | null | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE_NAME) continue;
    const value = part.slice(eq + 1).trim();
    return value || null;
  }
  return null;
}

function attributes(options: CookieOptions): string {
  return `Path=/; HttpOnly; SameSite=Lax${options.secure === false ? '' : '; Secure'}`;
}

export function sessionCookieHeader(token: string, expiresAt: Date, options: CookieOptions = {}): string {
  return `${SESSION_COOKIE_NAME}=${token}; ${attributes(options)}; Expires=${expiresAt.toUTCString()}`;
}

export function clearSessionCookieHeader(options: CookieOptions = {}): string {
  return `${SESSION_COOKIE_NAME}=; ${attributes(options)}; Max-Age=0`;
}
