import { AuthError } from '@strata/auth';
import { EngineError } from '@strata/engine';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** Domain error codes → tRPC codes, in one place. REST turns tRPC codes into HTTP statuses. */
const CODE: Record<string, TRPC_ERROR_CODE_KEY> = {
  VALIDATION: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
  UNAUTHORIZED: 'UNAUTHORIZED',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
};

/** Converts a domain error into a TRPCError; anything else is left for the 500 path. */
export function toTRPCError(error: unknown): unknown {
  if (error instanceof TRPCError) return error;
  if (error instanceof EngineError || error instanceof AuthError) {
    return new TRPCError({ code: CODE[error.code] ?? 'INTERNAL_SERVER_ERROR', message: error.message, cause: error });
  }
  return error;
}

export const unauthorized = () => new TRPCError({ code: 'UNAUTHORIZED', message: 'Unauthorized' });
export const accessDenied = () => new TRPCError({ code: 'FORBIDDEN', message: 'Access denied' });
export const notFound = (message: string) => new TRPCError({ code: 'NOT_FOUND', message });
