/**
 * The dashboard's server loads read the REST API through SvelteKit's `event.fetch`, which
 * handles same-origin calls in process and forwards the request's `strata_session` cookie: one
 * path for the dashboard and every other client.
 */
import { error, redirect } from '@sveltejs/kit';
import { errorMessage } from '../http.ts';

type Fetch = typeof fetch;

/** Where an unauthenticated visitor goes, coming back to `from` after logging in. */
export function loginRedirect(from: URL): never {
  const next = from.pathname + from.search;
  redirect(303, next === '/app' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
}

/** GETs a REST path: 401 sends the visitor to log in, any other failure is the page's error. */
export async function apiGet<T>(fetch: Fetch, path: string, from: URL): Promise<T> {
  const response = await fetch(path);
  if (response.status === 401) loginRedirect(from);
  if (!response.ok) error(response.status, await errorMessage(response));
  return (await response.json()) as T;
}

/**
 * For a part of a page that may fail on its own (or whose endpoint may not exist on this
 * server): the body, or why it is missing, without failing the page.
 */
export async function apiGetOptional<T>(fetch: Fetch, path: string, from: URL): Promise<{ data: T; error: null; missing: false } | { data: null; error: string | null; missing: boolean }> {
  const response = await fetch(path);
  if (response.status === 401) loginRedirect(from);
  if (response.status === 404) return { data: null, error: null, missing: true };
  if (!response.ok) return { data: null, error: await errorMessage(response), missing: false };
  return { data: (await response.json()) as T, error: null, missing: false };
}
