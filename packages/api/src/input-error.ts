import type { ZodError } from 'zod';

const path = (parts: readonly PropertyKey[]) =>
  parts.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');

/**
 * A bad body in the seed's words: `Missing fields: strategyId, workspaceId` when required
 * fields are absent, otherwise the first offending field and what is wrong with it.
 */
const isMissing = (issue: ZodError['issues'][number]) => issue.code === 'invalid_type' && /received undefined/.test(issue.message);

export function formatInputError(error: ZodError): string {
  const missing = error.issues.filter(isMissing).map((issue) => path(issue.path));
  if (missing.length > 0) return `Missing fields: ${missing.join(', ')}`;
  const issue = error.issues[0];
  if (!issue) return 'Invalid request';
  const where = path(issue.path);
  return where ? `${where}: ${issue.message}` : issue.message;
}

/**
 * The field a refused input concerns, as a path into the request body (`items[3].input.to`), so
 * a form can show the message beside it: the one formatInputError names first.
 */
export function inputErrorField(error: ZodError): string | undefined {
  const issue = error.issues.find(isMissing) ?? error.issues[0];
  return issue && issue.path.length > 0 ? path(issue.path) : undefined;
}

/** Text PostgreSQL cannot store: NUL (`\u0000`), or an unpaired UTF-16 surrogate (`\ud800`). */
const unstorable = (text: string) => text.includes('\u0000') || !text.isWellFormed();

/**
 * Where in a request's input a string (or object key) holds text PostgreSQL cannot store, as
 * `items[3].input.text` ('' for the input itself), or undefined. Iterative: any depth is safe.
 */
export function findUnstorableText(input: unknown): string | undefined {
  type Node = { value: unknown; parent: Node | undefined; key: PropertyKey | undefined };
  const where = (node: Node) => {
    const parts: PropertyKey[] = [];
    for (let n: Node | undefined = node; n?.parent; n = n.parent) parts.unshift(n.key!);
    return path(parts);
  };
  const stack: Node[] = [{ value: input, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof value === 'string') {
      if (unstorable(value)) return where(node);
    } else if (Array.isArray(value)) {
      value.forEach((child, index) => {
        stack.push({ value: child, parent: node, key: index });
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (unstorable(key)) return where(node);
        stack.push({ value: child, parent: node, key });
      }
    }
  }
  return undefined;
}
