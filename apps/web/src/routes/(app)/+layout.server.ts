import { apiGet } from '#lib/server/rest.ts';
import type { Me } from '#lib/types.ts';
import type { LayoutServerLoad } from './$types';

/** Every dashboard page needs a logged-in person: who they are and their workspaces. */
export const load: LayoutServerLoad = async ({ fetch, url }) => {
  const me = await apiGet<Me>(fetch, '/api/me', url);
  return { me };
};
