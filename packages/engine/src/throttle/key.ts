import { scanPlaceholders } from '../placeholders.ts';

/**
 * Concurrency keys: an L4 item's `concurrencyKey` is a template over its task's input, resolved
 * once when the execution starts; every task of the workspace whose key resolves to the same
 * text shares the key's limits (`keyConcurrency`, `keyPerMinute`).
 *
 * - `{{name}}`, `{{name.path}}` read the item's input; integer segments index arrays.
 * - `{{input}}`-rooted paths (`{{input.customer}}`) read the execution's input, its parameters.
 * - A value of the item's input that is exactly `{{input.<path>}}` (as the email agent allows for
 *   `to`) stands for that parameter: `{{to}}` with `to: "{{input.recipient}}"` is the recipient.
 * - `.host` after a string that is an absolute URL is that URL's host name as WHATWG URL parses
 *   it: lower case, international names in punycode, without port, user or path
 *   (`https://API.example.com:8443/v1` → `api.example.com`), so one limit holds for a host
 *   whatever port or path each call uses. On an object, `.host` reads its `host` key as any
 *   other segment does; on any other string it has no value.
 * - Strings are used as they are, numbers and booleans as text, arrays of plain values joined
 *   with ", ". Anything else (null, an object, nothing at that path) has no value: a template
 *   that refers to the item's own input is refused when the strategy is saved, one that refers
 *   to the execution's input when the execution starts.
 * - Text around placeholders is kept (`customer-{{id}}`); a template without placeholders is one
 *   fixed key (`"smtp-relay"`), shared by every item that names it.
 *
 * Dependencies' results (`{{deps...}}`) are not known when the key is resolved and are refused.
 * Scanning and resolving are linear in the template's length and the path's segments.
 */

export const KEY_TEMPLATE_MAX_CHARS = 200;
/** A resolved key longer than this is refused: keys are compared and indexed as text. */
export const KEY_MAX_CHARS = 500;

const NAME = /^[A-Za-z_][\w-]*(?:\.[\w:-]+)*$/;
/** A value that is exactly a reference to the execution's input. */
const INPUT_REFERENCE = /^\{\{\s*input((?:\.[\w:-]+)+)\s*\}\}$/;

/** What a placeholder resolved to: text, a deferral to the execution's input (at save), or why it has no value. */
type Resolved = { text: string } | { deferred: true } | { missing: string };

const MISSING = Symbol('missing');

function hostOf(value: string): string | typeof MISSING {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return MISSING;
  try {
    const host = new URL(value).hostname;
    return host ? host.toLowerCase() : MISSING;
  } catch {
    return MISSING;
  }
}

function asText(value: unknown): string | typeof MISSING {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) return value.join(', ');
  return MISSING;
}

/**
 * Walks `segments` from `root`; a string that is exactly `{{input.<path>}}` met on the way (in
 * the item's input) continues in the execution's input, once. `parameters` undefined: saving,
 * when the execution's input is not known yet.
 */
function walk(root: unknown, segments: readonly string[], parameters: Record<string, unknown> | undefined, redirected: boolean): unknown | typeof MISSING | 'deferred' {
  let current: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    if (!redirected && typeof current === 'string') {
      const reference = INPUT_REFERENCE.exec(current);
      if (reference) {
        if (!parameters) return 'deferred';
        const rest = [...reference[1]!.slice(1).split('.'), ...segments.slice(i)];
        return walk(parameters, rest, parameters, true);
      }
    }
    const segment = segments[i]!;
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (current !== null && typeof current === 'object' && !Array.isArray(current) && Object.hasOwn(current, segment)) current = (current as Record<string, unknown>)[segment];
    else if (segment === 'host' && i === segments.length - 1 && typeof current === 'string') return hostOf(current);
    else return MISSING;
    if (current === undefined) return MISSING;
  }
  if (!redirected && typeof current === 'string') {
    const reference = INPUT_REFERENCE.exec(current);
    if (reference) return parameters ? walk(parameters, reference[1]!.slice(1).split('.'), parameters, true) : 'deferred';
  }
  return current;
}

function resolvePlaceholder(name: string, input: Record<string, unknown>, parameters: Record<string, unknown> | undefined): Resolved {
  const segments = name.split('.');
  const fromParameters = segments[0] === 'input';
  if (fromParameters && !parameters) return { deferred: true };
  const value = fromParameters ? walk(parameters, segments.slice(1), parameters, true) : walk(input, segments, parameters, false);
  if (value === 'deferred') return { deferred: true };
  const text = value === MISSING ? MISSING : asText(value);
  if (text === MISSING) return { missing: fromParameters ? `{{${name}}} has no value in the execution's input` : `{{${name}}} has no value in the item's input` };
  return { text };
}

/** Checks a key template when its strategy is saved: the first problem, or undefined. */
export function checkConcurrencyKey(template: string, input: Record<string, unknown>): string | undefined {
  if (template.length > KEY_TEMPLATE_MAX_CHARS) return `at most ${KEY_TEMPLATE_MAX_CHARS} characters`;
  if (template.trim() === '') return 'must not be empty';
  for (const { name } of scanPlaceholders(template)) {
    if (!NAME.test(name)) return `{{${name}}} is not a placeholder: use {{name}}, {{name.path}} or {{input.path}}`;
    if (name === 'deps' || name.startsWith('deps.')) return `{{${name}}}: dependencies' results are not known when the key is resolved (at start)`;
    if (name === 'input') return '{{input}} is the whole execution input: name a field, {{input.<path>}}';
    const resolved = resolvePlaceholder(name, input, undefined);
    if ('missing' in resolved) return resolved.missing;
  }
  return undefined;
}

/** The key of one task, from its item's template, input and the execution's input. */
export function resolveConcurrencyKey(template: string, input: Record<string, unknown>, parameters: Record<string, unknown>): { key: string } | { error: string } {
  const pieces: string[] = [];
  let copied = 0;
  let length = 0;
  const add = (piece: string) => {
    pieces.push(piece);
    length += piece.length;
  };
  for (const { start, end, name } of scanPlaceholders(template)) {
    const resolved = resolvePlaceholder(name, input, parameters);
    if ('missing' in resolved) return { error: resolved.missing };
    if (!('text' in resolved)) return { error: `{{${name}}} could not be resolved` };
    add(template.slice(copied, start));
    add(resolved.text);
    copied = end;
    if (length > KEY_MAX_CHARS) return { error: `resolves to more than ${KEY_MAX_CHARS} characters` };
  }
  add(template.slice(copied));
  const key = pieces.join('');
  if (length > KEY_MAX_CHARS) return { error: `resolves to more than ${KEY_MAX_CHARS} characters` };
  if (key.trim() === '') return { error: 'resolves to an empty key' };
  return { key };
}
