import { redirect } from '@sveltejs/kit';
import { safeNext } from '#lib/http.ts';
import type { LayoutServerLoad } from './$types';

/** Someone already logged in goes straight on to the dashboard. */
export const load: LayoutServerLoad = async ({ fetch, url }) => {
  // A `next` that is not a path of this site is dropped here, so no link or redirect carries it.
  const next = safeNext(url.searchParams.get('next'), '') || null;
  const response = await fetch('/api/me');
  if (response.ok) redirect(303, next ?? '/app');
  return { next };
};
