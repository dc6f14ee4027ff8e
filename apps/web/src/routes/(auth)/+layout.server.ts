import { redirect } from '@sveltejs/kit';
import { safeNext } from '#lib/http.ts';
import type { LayoutServerLoad } from './$types';

/** Someone already logged in goes straight on to the dashboard. */
export const load: LayoutServerLoad = async ({ fetch, url }) => {
  const response = await fetch('/api/me');
  if (response.ok) redirect(303, safeNext(url.searchParams.get('next')));
  return { next: url.searchParams.get('next') };
};
