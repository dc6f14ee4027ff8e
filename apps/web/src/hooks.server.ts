import { sequence } from '@sveltejs/kit/hooks';
import { crossSiteGuard } from '#lib/server/cross-site.ts';
import { securityHeadersHandle } from '#lib/server/security-headers.ts';
import { traceRouteHandle } from '#lib/server/trace-route.ts';

// Security headers wrap everything, the cross-site refusals included; the route names the request's span.
export const handle = sequence(traceRouteHandle, securityHeadersHandle, crossSiteGuard);
