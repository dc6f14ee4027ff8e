import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What a caller's X-Request-Id may be to be kept: 1–128 characters of letters, digits and
 * `- _ . : = + / @` (UUIDs, ULIDs, proxies' trace ids). Anything else (spaces, quotes, control
 * characters, a kilobyte of text) would end up verbatim in logs and headers: it is replaced.
 */
const ACCEPTED = /^[A-Za-z0-9._:=+/@-]{1,128}$/;

/** The request's id: the caller's X-Request-Id when it is a sane one, a new UUID otherwise. */
export function requestIdOf(header: string | readonly string[] | null | undefined): string {
  const value = typeof header === 'string' ? header : header?.[0];
  return value !== undefined && ACCEPTED.test(value) ? value : randomUUID();
}
