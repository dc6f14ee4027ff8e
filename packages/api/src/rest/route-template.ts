import { matchRoute } from './routes.ts';

const STREAM = /^\/api\/executions\/[^/]+\/stream\/?$/;
const FIXED = new Set(['/api/openapi.json', '/api/health', '/metrics']);

/**
 * The route template of a request, for metrics labels: `/api/executions/:id`, never the raw
 * path, so label values are a small fixed set whatever clients send. REST calls by their route
 * (a path no route matches is `unmatched`), tRPC calls as `/api/trpc/*`, the stream by its
 * pattern, SvelteKit's built assets as `/_app/*`, and every other path (the dashboard's pages) as
 * `page`.
 */
export function routeTemplate(method: string, pathname: string): string {
  if (FIXED.has(pathname)) return pathname;
  if (pathname.startsWith('/api/trpc/') || pathname === '/api/trpc') return '/api/trpc/*';
  if (STREAM.test(pathname)) return '/api/executions/:id/stream';
  if (pathname === '/api' || pathname.startsWith('/api/')) {
    try {
      const match = matchRoute(method === 'HEAD' ? 'GET' : method, pathname);
      return match && 'route' in match ? match.route.path : 'unmatched';
    } catch {
      return 'unmatched';
    }
  }
  if (pathname.startsWith('/_app/')) return '/_app/*';
  return 'page';
}
