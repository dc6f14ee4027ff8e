import type { Logger } from '@strata/config';
import { setHttpRoute } from '@strata/telemetry';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';
import { usableAgents } from '../router/agents.ts';
import { BodyError, readJsonBody } from '../body.ts';
import { type ApiDeps, createContext } from '../context.ts';
import { errorField } from '../error-field.ts';
import { formatInputError } from '../input-error.ts';
import { openApiDocument } from '../openapi.ts';
import { encodeWithRaw } from '../raw-json.ts';
import { createCaller } from '../root.ts';
import { matchRoute } from './routes.ts';

const json = (status: number, body: unknown, headers?: HeadersInit) => {
  // Bytes, not text: the status body's tasks are spliced in already encoded.
  const response = new Response(encodeWithRaw(body) as Uint8Array<ArrayBuffer>, { status, headers });
  response.headers.set('content-type', 'application/json; charset=utf-8');
  response.headers.set('cache-control', 'no-store');
  return response;
};

/** HTTP status and the public message of any error: the one mapping the REST surface uses. */
export function errorResponse(error: unknown, logger?: Logger): { status: number; message: string; field?: string } {
  if (error instanceof TRPCError) {
    const status = getHTTPStatusCodeFromError(error);
    if (status >= 500) {
      logger?.error({ err: error.cause ?? error }, 'request failed');
      return { status, message: 'Internal server error' };
    }
    const field = status === 400 ? errorField(error) : undefined;
    return { status, message: error.cause instanceof ZodError ? formatInputError(error.cause) : error.message, ...(field ? { field } : {}) };
  }
  logger?.error({ err: error }, 'request failed');
  return { status: 500, message: 'Internal server error' };
}

/**
 * The REST adapter: a plain Request in, a Response out, every call made through the same tRPC
 * procedures internal code uses. Returns undefined for paths it does not serve.
 */
export async function handleRest(request: Request, deps: ApiDeps & { logger?: Logger }, info: { clientAddress?: string | null } = {}): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/api/openapi.json' || url.pathname === '/api/openapi.json/') {
    setHttpRoute('/api/openapi.json');
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, { error: 'Method not allowed' }, { Allow: 'GET, HEAD' });
    return json(200, openApiDocument({ agents: usableAgents(deps.agents) }));
  }
  let match: ReturnType<typeof matchRoute>;
  try {
    match = matchRoute(request.method === 'HEAD' ? 'GET' : request.method, url.pathname);
  } catch (error) {
    // A path parameter with a broken %-escape (`/api/strategies/%E0%A4%A`) cannot be decoded.
    if (error instanceof URIError) return json(400, { error: 'Malformed percent-encoding in path' });
    throw error;
  }
  if (!match) return json(404, { error: 'Not found' });
  if ('route' in match) setHttpRoute(match.route.path);
  if ('allow' in match) return json(405, { error: 'Method not allowed' }, { Allow: [...new Set(match.allow)].join(', ') });

  try {
    const ctx = await createContext(deps, request.headers, { rawJson: true, clientAddress: info.clientAddress ?? null });
    // Credentials are judged before the body.
    if (match.route.auth && !ctx.principal) return json(401, { error: 'Unauthorized' });
    let body: unknown;
    try {
      body = match.route.method === 'POST' || match.route.method === 'PUT' || match.route.method === 'PATCH' ? await readJsonBody(request) : undefined;
    } catch (error) {
      // Past a refused body the connection is closed, so the rest of it is never read.
      if (error instanceof BodyError) return json(error.status, { error: error.message }, error.status === 413 ? { connection: 'close' } : undefined);
      throw error;
    }
    try {
      const result = await match.route.call(createCaller(ctx), { params: match.params, query: url.searchParams, body });
      return json(match.route.status, result, ctx.responseHeaders);
    } catch (error) {
      const { status, message, field } = errorResponse(error, deps.logger);
      return json(status, { error: message, ...(field ? { field } : {}) }, ctx.responseHeaders);
    }
  } catch (error) {
    const { status, message } = errorResponse(error, deps.logger);
    return json(status, { error: message });
  }
}
