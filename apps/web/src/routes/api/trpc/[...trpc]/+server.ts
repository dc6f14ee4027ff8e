import { appRouter, createContext } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getApiDeps } from '#lib/server/api.ts';

const handler: RequestHandler = async ({ request }) => {
  const deps = await getApiDeps();
  let responseHeaders: Headers | undefined;
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: async () => {
      const ctx = await createContext(deps, request.headers);
      responseHeaders = ctx.responseHeaders;
      return ctx;
    },
    responseMeta: () => ({ headers: responseHeaders ?? new Headers() }),
    onError: ({ error }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger.error({ err: error.cause ?? error }, 'tRPC call failed');
    },
  });
};

export const GET = handler;
export const POST = handler;
