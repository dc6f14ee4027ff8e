import { type DependencyResult, NonRetryableError, scanPlaceholders } from '@strata/engine';
import type { z } from 'zod';
import { isCoordinationResult } from './coordination.ts';
import { parseHtml } from './html.ts';

/**
 * `{{name}}` / `{{deps.<key>.<path>}}` placeholders, shared by the agents that compose text.
 *
 * - `{{name}}` and `{{name.path}}` read the task's `variables`, then the rest of its input.
 * - `{{input}}` and `{{input.<path>}}` read the execution's input (its parameters, valid
 *   against the strategy's inputSchema); `input` is reserved for them, whatever the variables hold.
 * - `{{deps.<key>}}` and `{{deps.<key>.<path>}}` read the result of the dependency with that
 *   key (keys may themselves hold dots; the longest matching key wins). Path segments that are
 *   integers index arrays: `{{deps.research.pages.0.title}}`.
 *   A coordination task's result names its dependencies (`dependencies.<i>.key`, `taskId`,
 *   `resultBytes`, `summary`) but does not hold their results: to read one, depend on that
 *   task; a path through a coordination task into a result fails with a hint saying so.
 * - Strings are inserted as they are, numbers and booleans as text, arrays of plain values
 *   joined with ", ", objects as indented JSON (compact when large or deeply nested); null as
 *   the empty string.
 * - A placeholder that resolves to nothing fails the whole fill with a TemplateError naming
 *   the unknown placeholders (the first ten), so a message is never sent with holes in it.
 * - The filled text is at most FILLED_MAX_CHARS (2,000,000) characters. Scanning and filling
 *   are linear in the template's length, whatever it holds.
 */
export class TemplateError extends Error {
  readonly unknown: string[];
  constructor(message: string, unknown: string[] = []) {
    super(message);
    this.name = 'TemplateError';
    this.unknown = unknown;
  }
}

export interface TemplateScope {
  /** `{{name}}` lookups, in order: the first scope holding the name wins. */
  variables: Record<string, unknown>[];
  /** `{{deps.<key>...}}` lookups: dependency results by key. */
  deps: Record<string, unknown>;
  /** `{{input.<path>}}` lookups: the execution's input. */
  input?: Record<string, unknown>;
}

export interface FillOptions {
  /** Applied to every inserted value (e.g. HTML escaping); the template itself is left alone. */
  escape?: (value: string) => string;
  /** The filled text may be at most this long (default FILLED_MAX_CHARS). */
  maxChars?: number;
}

const NAME = /^[A-Za-z_][\w-]*(?:\.[\w:-]+)*$/;
const DEP_PATH = /^deps\.[\w.:-]+$/;
const MISSING = Symbol('missing');

/** The dependency results of a task, by the key of the item each came from. */
export function dependencyScope(dependencies: readonly DependencyResult[]): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  for (const dep of dependencies) scope[dep.key] = dep.result;
  return scope;
}

/** The placeholder names a template uses, in order of first appearance. */
export function placeholders(template: string): string[] {
  const names = new Set<string>();
  for (const { name } of scanPlaceholders(template)) names.add(name);
  return [...names];
}

/** A filled template longer than this fails: a placeholder may repeat a large result many times. */
export const FILLED_MAX_CHARS = 2_000_000;
/** Placeholders named in an error message, at most. */
const NAMED_IN_ERRORS = 10;

/** Fills every placeholder, or throws a TemplateError naming the ones that cannot be filled. */
export function fillTemplate(template: string, scope: TemplateScope, options: FillOptions = {}): string {
  const maxChars = options.maxChars ?? FILLED_MAX_CHARS;
  const unknown = new Set<string>();
  const invalid = new Set<string>();
  const rendered = new Map<string, string>();
  const depKeys = dependencyKeys(scope.deps);
  const pieces: string[] = [];
  let length = 0;
  let copied = 0;
  const add = (piece: string) => {
    length += piece.length;
    if (length > maxChars) throw new TemplateError(`The filled template is longer than ${maxChars.toLocaleString('en-US')} characters`);
    pieces.push(piece);
  };
  for (const { start, end, name } of scanPlaceholders(template)) {
    add(template.slice(copied, start));
    copied = end;
    const whole = template.slice(start, end);
    if (name === '' || !(name.startsWith('deps.') ? DEP_PATH.test(name) : NAME.test(name))) {
      invalid.add(whole);
      add(whole);
      continue;
    }
    let text = rendered.get(name);
    if (text === undefined) {
      const value = resolve(name, scope, depKeys);
      if (value === MISSING) {
        unknown.add(name);
        add(whole);
        continue;
      }
      text = render(value);
      if (options.escape) text = options.escape(text);
      rendered.set(name, text);
    }
    add(text);
  }
  add(template.slice(copied));
  if (invalid.size > 0) {
    throw new TemplateError(`Invalid placeholder${invalid.size > 1 ? 's' : ''} ${listSome(invalid, (p) => p)}: use {{name}}, {{input.<path>}} or {{deps.<key>.<path>}}`);
  }
  if (unknown.size > 0) {
    const names = [...unknown];
    throw new TemplateError(
      `Unknown template placeholder${names.length > 1 ? 's' : ''} ${listSome(unknown, (n) => `{{${n}}}`)}: ` +
        `not found in variables, the item input, the execution input or dependency results${names.some((n) => n.startsWith('deps.')) ? depsHint(names, scope.deps) : ''}`,
      names,
    );
  }
  return pieces.join('');
}

/** The first few of a list, then how many more (an error message stays short whatever the template). */
function listSome(items: ReadonlySet<string>, show: (item: string) => string): string {
  const all = [...items];
  const shown = all.slice(0, NAMED_IN_ERRORS).map(show).join(', ');
  return all.length > NAMED_IN_ERRORS ? `${shown} and ${all.length - NAMED_IN_ERRORS} more` : shown;
}

function depsHint(unknown: readonly string[], deps: Record<string, unknown>): string {
  const keys = Object.keys(deps);
  if (keys.length === 0) return ' (this task has no dependencies)';
  // Reading through a coordination task: its result names its dependencies' results, it does not hold them.
  const named = unknown.slice(0, NAMED_IN_ERRORS);
  const through = keys.filter((key) => named.some((n) => n.startsWith(`deps.${key}.`)) && isCoordinationResult(deps[key]));
  const coordination = through.length
    ? `; ${through.map((k) => `"${k}"`).join(', ')} ${through.length > 1 ? 'are coordination tasks' : 'is a coordination task'}: ` +
      'its result names its dependencies (key, taskId, resultBytes, summary) without copying their results, so add the task you read from to dependsOn'
    : '';
  return ` (dependencies: ${listSome(new Set(keys), (k) => k)}${coordination})`;
}

interface DependencyKeys {
  byKey: Map<string, unknown>;
  /** The longest key: a key is looked up only among the name's prefixes up to this length. */
  longest: number;
}

function dependencyKeys(deps: Record<string, unknown>): DependencyKeys {
  const byKey = new Map(Object.entries(deps));
  let longest = 0;
  for (const key of byKey.keys()) longest = Math.max(longest, key.length);
  return { byKey, longest };
}

/**
 * The raw value a template made of one placeholder names (a list stays a list, an object an
 * object), or a TemplateError worded as fillTemplate's when it names nothing.
 */
export function placeholderValue(template: string, scope: TemplateScope): unknown {
  const [only] = scanPlaceholders(template);
  const value = only ? resolve(only.name, scope, dependencyKeys(scope.deps)) : MISSING;
  // The error path only: fillTemplate names the placeholder as any template would.
  if (value === MISSING) fillTemplate(template, scope);
  return value;
}

function resolve(name: string, scope: TemplateScope, deps: DependencyKeys): unknown {
  if (name.startsWith('deps.')) {
    const rest = name.slice('deps.'.length);
    // Keys may hold dots: try the longest key that the rest of the name starts with. Only the
    // prefixes that end at a dot (or the end) and are no longer than the longest key can be one.
    const ends: number[] = [];
    for (let i = Math.min(rest.length, deps.longest); i > 0; i--) {
      if (i === rest.length || rest[i] === '.') ends.push(i);
    }
    for (const end of ends) {
      const key = rest.slice(0, end);
      if (!deps.byKey.has(key)) continue;
      const path = end === rest.length ? [] : rest.slice(end + 1).split('.');
      const value = walk(deps.byKey.get(key), path);
      if (value !== MISSING) return value;
    }
    return MISSING;
  }
  const [head = '', ...path] = name.split('.');
  if (head === 'input') return walk(scope.input ?? {}, path);
  for (const vars of scope.variables) {
    if (!Object.hasOwn(vars, head)) continue;
    const value = walk(vars[head], path);
    if (value !== MISSING) return value;
  }
  return MISSING;
}

function walk(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) {
      const index = Number(segment);
      if (index >= current.length) return MISSING;
      current = current[index];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return MISSING;
    }
  }
  return current === undefined ? MISSING : current;
}

/** Indented JSON is used up to about this size; beyond it, compact JSON. */
const INDENTED_MAX_CHARS = 1024 * 1024;

function render(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return value.map(render).join(', ');
  let compact: string;
  try {
    compact = JSON.stringify(value);
  } catch (error) {
    throw new TemplateError(`A placeholder's value cannot be written as JSON: ${(error as Error).message}`);
  }
  // Indenting gives every value a line of its own, indented two spaces per level: on a large or
  // deeply nested value it multiplies the size, so those stay compact.
  return compact.length * (3 + 2 * nestingDepth(compact)) <= INDENTED_MAX_CHARS ? JSON.stringify(value, null, 2) : compact;
}

/** The deepest nesting of arrays and objects in a JSON text (one pass, skipping strings). */
function nestingDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return deepest;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Dropped with everything inside them. */
const TEXT_DROPPED = new Set(['script', 'style', 'head']);
/** Start on a new line. */
const TEXT_BLOCK_START = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'table', 'section', 'article', 'blockquote', 'pre', 'br']);
/** End their line. */
const TEXT_BLOCK_END = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'tr', 'table', 'section', 'article', 'header', 'footer', 'blockquote', 'pre']);

/**
 * A readable plain-text alternative for an HTML body: block tags become line breaks, list items
 * "- ", links "label (href)", scripts, styles and the head go. It runs on html.ts (as the
 * research agent does), so it is linear in the input whatever it holds; the regular
 * expressions it replaces backtracked on unclosed tags.
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  let dropDepth = 0;
  /** The open link: where its label starts in `out`. HTML does not nest links. */
  let link: { href: string; at: number } | undefined;
  const endLink = () => {
    if (!link) return;
    const label = out.splice(link.at).join('');
    out.push(label.trim() === link.href ? link.href : `${label} (${link.href})`);
    link = undefined;
  };
  parseHtml(html, {
    onopentag(name, attrs) {
      if (name === 'body') dropDepth = 0; // a body closes a head left open
      if (TEXT_DROPPED.has(name)) dropDepth++;
      if (dropDepth > 0) return;
      if (TEXT_BLOCK_START.has(name)) out.push('\n');
      else if (name === 'li') out.push('\n- ');
      else if (name === 'a') {
        endLink();
        if (attrs.href !== undefined) link = { href: attrs.href, at: out.length };
      }
    },
    ontext(text) {
      if (dropDepth === 0) out.push(text);
    },
    onclosetag(name, implied) {
      if (TEXT_DROPPED.has(name)) dropDepth = Math.max(0, dropDepth - 1);
      else if (dropDepth > 0) return;
      else if (name === 'a') endLink();
      else if (!implied && TEXT_BLOCK_END.has(name)) out.push('\n');
    },
  });
  endLink();
  return tidyLines(out.join('').replaceAll('\u00a0', ' '));
}

/** Drops spaces and tabs at the ends of lines and keeps at most one empty line in a row; trims. */
function tidyLines(text: string): string {
  const lines: string[] = [];
  let empty = 0;
  for (const raw of text.split('\n')) {
    let end = raw.length;
    while (end > 0 && (raw[end - 1] === ' ' || raw[end - 1] === '\t')) end--;
    const line = raw.slice(0, end);
    if (line === '') {
      if (++empty > 1) continue;
    } else empty = 0;
    lines.push(line);
  }
  return lines.join('\n').trim();
}

/** Parses an agent's input with its schema; a bad input fails without retry, saying why. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, agent: string): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  throw new NonRetryableError(`Invalid ${agent} input: ${problems.join('; ')}`);
}

