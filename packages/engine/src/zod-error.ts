import type { z } from 'zod';
import { validationError, type EngineError } from './errors.ts';

/** The path of a zod issue as people write it: `items[3].key`. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}

/** A VALIDATION error naming the first offending field. */
export function fromZodError(error: z.ZodError, describe?: (path: readonly PropertyKey[]) => string | undefined): EngineError {
  const issue = error.issues[0];
  if (!issue) return validationError('Invalid input');
  const where = describe?.(issue.path) ?? issuePath(issue.path);
  return validationError(where ? `${where}: ${issue.message}` : issue.message, { path: issuePath(issue.path) });
}
