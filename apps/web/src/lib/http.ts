/**
 * Calls to the REST API from the browser. The session cookie goes along by itself (same
 * origin); a failure carries the API's `{ error }` message.
 */

/** A failure carries the API's message and, on a 400, the field it names (`name`, `input.recipient`). */
export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; error: string; field?: string };

/** The API's `{ error, field? }`, or a message naming the status. */
async function errorBody(response: Response): Promise<{ error: string; field?: string }> {
  try {
    const body = (await response.json()) as { error?: unknown; field?: unknown };
    if (typeof body?.error === 'string') return { error: body.error, ...(typeof body.field === 'string' ? { field: body.field } : {}) };
  } catch {
    // not JSON
  }
  return { error: `Request failed (HTTP ${response.status})` };
}

/** The API's `{ error }` message, or a fallback naming the status. */
export async function errorMessage(response: Response): Promise<string> {
  return (await errorBody(response)).error;
}

/** A GET of JSON; the answer as for postJson. */
export async function getJson<T>(path: string): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' } });
  } catch {
    return { ok: false, status: 0, error: 'The server could not be reached' };
  }
  if (!response.ok) return { ok: false, status: response.status, ...(await errorBody(response)) };
  return { ok: true, data: (await response.json()) as T };
}

export function postJson<T>(path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiResult<T>> {
  return sendJson<T>('POST', path, body, headers);
}

/** Any method with a JSON body (PUT, PATCH, DELETE); the answer as for postJson. */
export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: unknown = {}, headers: Record<string, string> = {}): Promise<ApiResult<T>> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, error: 'The server could not be reached' };
  }
  if (!response.ok) return { ok: false, status: response.status, ...(await errorBody(response)) };
  return { ok: true, data: (await response.json()) as T };
}

/**
 * Where to go after logging in: `next` when it is a path of this site, else the fallback.
 * Only printable ASCII is taken (the app's own links are percent-encoded): a tab or a
 * non-ASCII character would break the Location header, and browsers drop tabs and newlines
 * from URLs, so `/<tab>/evil.example` would become `//evil.example`. Never another origin:
 * `//evil.example` and `/\evil.example` are refused.
 */
export function safeNext(next: string | null | undefined, fallback = '/app'): string {
  if (!next || !/^\/[\x21-\x7e]*$/.test(next) || next.startsWith('//') || next.includes('\\')) return fallback;
  const base = 'http://strata.invalid';
  return new URL(next, base).origin === base ? next : fallback;
}
