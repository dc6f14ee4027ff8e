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

/** The ids of upgrade requests, by socket: answers written on the raw socket (a 101, a refusal) carry it too. */
const upgradeIds = new WeakMap<object, string>();

/** Gives an upgrade request's socket its request id (the web server's request scope does, for every upgrade). */
export function tagUpgradeSocket(socket: object, requestId: string): void {
  upgradeIds.set(socket, requestId);
}

/** The request id of the upgrade on this socket, if it was given one. */
export function upgradeRequestId(socket: object): string | undefined {
  return upgradeIds.get(socket);
}
