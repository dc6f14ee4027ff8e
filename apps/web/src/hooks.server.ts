import { crossSiteGuard } from '#lib/server/cross-site.ts';

export const handle = crossSiteGuard;
