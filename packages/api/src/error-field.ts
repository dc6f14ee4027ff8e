import { EngineError } from '@strata/engine';
import type { TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { inputErrorField } from './input-error.ts';

/**
 * The request field a 400 concerns (`name`, `items[2].dependsOn[0]`, `items[0].input.to`), from
 * the input's zod issue or the domain error's details: REST answers it as `field` beside
 * `error`, tRPC as `data.field`, so the dashboard puts each message beside its field.
 */
export function errorField(error: TRPCError): string | undefined {
  const cause = error.cause;
  if (cause instanceof ZodError) return inputErrorField(cause);
  if (cause instanceof EngineError && typeof cause.details?.path === 'string' && cause.details.path) return cause.details.path;
  return undefined;
}
