import { sequence } from '@sveltejs/kit/hooks';
import { crossSiteGuard } from '#lib/server/cross-site.ts';
import { securityHeadersHandle } from '#lib/server/security-headers.ts';

// Security headers wrap everything, the cross-site refusals included.
export const handle = sequence(securityHeadersHandle, crossSiteGuard);
