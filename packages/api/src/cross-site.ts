import { TRPCError } from '@trpc/server';
import { checkSameOrigin, type OriginPolicy } from './same-origin.ts';
import { TRPC_ENDPOINT, trpcRefusal } from './trpc-http.ts';

const under = (pathname: string, prefix: string) => pathname === prefix || pathname.startsWith(`${prefix}/`);

/**
 * The one cross-site guard for every route the web app serves (REST, tRPC, pages and their form
 * actions): a cookie-authenticated state-changing request from another site is refused with
 * 403 in the answering surface's own shape. Undefined when the request may go on.
 */
export async function refuseCrossSite(request: Request, policy: OriginPolicy): Promise<Response | undefined> {
  const verdict = checkSameOrigin(request.method, request.headers, policy);
  if (verdict.ok) return undefined;
  const { pathname } = new URL(request.url);
  if (under(pathname, TRPC_ENDPOINT)) return trpcRefusal(request, new TRPCError({ code: 'FORBIDDEN', message: verdict.reason }));
  const headers = { 'cache-control': 'no-store' };
  if (under(pathname, '/api') || request.headers.get('accept') === 'application/json') return Response.json({ error: verdict.reason }, { status: 403, headers });
  return new Response(verdict.reason, { status: 403, headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' } });
}
