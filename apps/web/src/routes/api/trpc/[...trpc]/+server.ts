import { appRouter, createContext } from '@strata/api';
import type { RequestHandler } from '@sveltejs/kit';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getApiDeps } from '#lib/server/api.ts';
import { requestClientAddress } from '#lib/server/client-address.ts';

const handler: RequestHandler = async (event) => {
  const { request } = event;
  const deps = await getApiDeps();
  let responseHeaders: Headers | undefined;
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req: request,
    router: appRouter,
    createContext: async () => {
      // Each procedure of a batch shares this context but runs (and is throttled) on its own.
      const ctx = await createContext(deps, request.headers, { clientAddress: requestClientAddress(event) });
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
