import type { ZodError } from 'zod';

const path = (parts: readonly PropertyKey[]) =>
  parts.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');

/**
 * A bad body in the seed's words: `Missing fields: strategyId, workspaceId` when required
 * fields are absent, otherwise the first offending field and what is wrong with it.
 */
export function formatInputError(error: ZodError): string {
  const missing = error.issues.filter((issue) => issue.code === 'invalid_type' && /received undefined/.test(issue.message)).map((issue) => path(issue.path));
  if (missing.length > 0) return `Missing fields: ${missing.join(', ')}`;
  const issue = error.issues[0];
  if (!issue) return 'Invalid request';
  const where = path(issue.path);
  return where ? `${where}: ${issue.message}` : issue.message;
}
