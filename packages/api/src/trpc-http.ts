import type { Logger } from '@strata/config';
import { setHttpRoute } from '@strata/telemetry';
import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { BodyError, readBodyText } from './body.ts';
import { type ApiDeps, createContext } from './context.ts';
import { appRouter } from './root.ts';

export const TRPC_ENDPOINT = '/api/trpc';

/** Calls one tRPC request may carry: a batch is not a way around per-request limits. */
export const MAX_BATCH_CALLS = 10;

/** The procedure names a request's path carries: `/api/trpc/a,b,c?batch=1` names three. */
function procedurePath(url: URL): string {
  const path = url.pathname.slice(TRPC_ENDPOINT.length).replace(/^\/+|\/+$/g, '');
  try {
    return decodeURIComponent(path);
  } catch {
    // tRPC refuses the path itself; the raw commas still count.
    return path;
  }
}

/** How many procedure calls a request names: `/api/trpc/a,b,c?batch=1` is three. */
function batchCalls(url: URL): number {
  if (url.searchParams.get('batch') !== '1') return 1;
  return procedurePath(url).split(',').length;
}

/** The request span's route: the procedures it calls, or a placeholder for names the router lacks (no unbounded span names). */
function traceRoute(url: URL) {
  const names = procedurePath(url).split(',');
  const known = names.every((name) => Object.hasOwn(appRouter._def.procedures, name));
  setHttpRoute(`${TRPC_ENDPOINT}/${known ? names.join(',') : ':procedure'}`);
}

/**
 * A tRPC-shaped error answer for a request refused before any procedure runs: the request goes
 * to tRPC without its body and its context fails with `error`, so the body (batch or single
 * call, the error formatter, the HTTP status) is exactly what tRPC answers for that error.
 */
export function trpcRefusal(request: Request, error: TRPCError, headers?: HeadersInit): Promise<Response> {
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req: new Request(request.url, { method: request.method, headers: request.headers }),
    router: appRouter,
    createContext: () => {
      throw error;
    },
    responseMeta: () => ({ headers: new Headers(headers) }),
  });
}

/**
 * The tRPC endpoint under the same input policy as REST: a body of at most 1 MiB (413
 * `PAYLOAD_TOO_LARGE`, judged as it streams in, never read whole) and at most
 * MAX_BATCH_CALLS calls per request (400).
 */
export async function handleTrpc(request: Request, deps: ApiDeps & { logger?: Logger }, info: { clientAddress?: string | null } = {}): Promise<Response> {
  const url = new URL(request.url);
  traceRoute(url);
  const calls = batchCalls(url);
  if (calls > MAX_BATCH_CALLS) {
    return trpcRefusal(request, new TRPCError({ code: 'BAD_REQUEST', message: `Too many calls in one batch: ${calls} (the limit is ${MAX_BATCH_CALLS})` }));
  }
  let body: string | undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    try {
      body = await readBodyText(request);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      // Past a refused body the connection is closed, so the rest of it is never read.
      return trpcRefusal(request, new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: error.message }), { connection: 'close' });
    }
  }
  let responseHeaders: Headers | undefined;
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    // The body, already read within the limit, is handed to tRPC as text.
    req: new Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, ...(body !== undefined ? { body } : {}) }),
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: async () => {
      // Each procedure of a batch shares this context but runs (and is throttled) on its own.
      const ctx = await createContext(deps, request.headers, { clientAddress: info.clientAddress ?? null });
      responseHeaders = ctx.responseHeaders;
      return ctx;
    },
    responseMeta: () => ({ headers: responseHeaders ?? new Headers() }),
    onError: ({ error }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') deps.logger?.error({ err: error.cause ?? error }, 'tRPC call failed');
    },
  });
}
