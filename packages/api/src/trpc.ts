import { isDevelopment } from '@strata/config';
import { AuthError, roleAllows, workspaceRole, type Permission, type Principal } from '@strata/auth';
import type { Role } from '@strata/db';
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { ZodError } from 'zod';
import type { ApiContext } from './context.ts';
import { errorField } from './error-field.ts';
import { accessDenied, toTRPCError, unauthorized } from './errors.ts';
import { findUnstorableText, formatInputError } from './input-error.ts';
import { rateLimitHeaders, takeRateLimit, type RateBucket } from './rate-limit.ts';

/** Stack traces in error answers: development only (NODE_ENV=development), never by default. */
const isDev = isDevelopment();

const t = initTRPC.context<ApiContext>().create({
  transformer: superjson,
  isDev,
  /**
   * What a caller sees of an error: the message meant for them; for a server error only
   * `Internal server error` (a driver's message may hold SQL and its parameters; the log has it).
   */
  errorFormatter({ shape, error }) {
    const message = shape.data.httpStatus >= 500 ? 'Internal server error' : error.cause instanceof ZodError ? formatInputError(error.cause) : shape.message;
    const { stack, ...rest } = shape.data;
    const field = shape.data.httpStatus === 400 ? errorField(error) : undefined;
    const data = { ...rest, ...(field ? { field } : {}) };
    return { ...shape, message, data: isDev && stack !== undefined ? { ...data, stack } : data };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Domain errors thrown anywhere below become tRPC errors with the right code. */
const mapErrors = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AuthError && cause.retryAfterSeconds !== undefined) ctx.responseHeaders.set('Retry-After', String(cause.retryAfterSeconds));
    const mapped = toTRPCError(cause);
    if (mapped instanceof TRPCError) throw mapped;
  }
  return result;
});

/**
 * NUL and unpaired surrogates are valid in JSON but not in PostgreSQL text: refused as a bad
 * body (400) naming the field, instead of failing in SQL (500) or being silently replaced.
 */
const storableText = t.middleware(async ({ getRawInput, next }) => {
  const where = findUnstorableText(await getRawInput());
  if (where !== undefined) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `${where ? `${where}: ` : ''}text must not contain NUL (\\u0000) or unpaired surrogate characters` });
  }
  return next();
});

export const publicProcedure = t.procedure.use(mapErrors).use(storableText);

/** Credentials first: a call without valid ones is 401 before its input is looked at. */
export const authedProcedure = t.procedure
  .use(mapErrors)
  .use(({ ctx, next }) => {
    if (!ctx.principal) throw unauthorized();
    return next({ ctx: { ...ctx, principal: ctx.principal as Principal } });
  })
  .use(storableText);

/** The caller's role in a workspace, or 403 Access denied when it has none or too little. */
export async function requireRole(ctx: ApiContext & { principal: Principal }, workspaceId: string, permission: Permission): Promise<Role> {
  const role = await workspaceRole(ctx.db, ctx.principal, workspaceId);
  if (!role || !roleAllows(role, permission)) throw accessDenied();
  return role;
}

/** The workspace's rate limit for this kind of call; 429 with Retry-After when it is spent. */
export async function rateLimit(ctx: ApiContext, workspaceId: string, bucket: RateBucket): Promise<void> {
  const decision = await takeRateLimit(ctx.db, workspaceId, bucket, ctx.rateLimits[bucket]);
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) ctx.responseHeaders.set(name, value);
  if (!decision.allowed) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: 'Rate limit exceeded' });
}
