import { type DependencyResult, NonRetryableError } from '@strata/engine';
import type { z } from 'zod';

/**
 * `{{name}}` / `{{deps.<key>.<path>}}` placeholders, shared by the agents that compose text.
 *
 * - `{{name}}` and `{{name.path}}` read the task's `variables`, then the rest of its input.
 * - `{{deps.<key>}}` and `{{deps.<key>.<path>}}` read the result of the dependency with that
 *   key (keys may themselves hold dots; the longest matching key wins). Path segments that are
 *   integers index arrays: `{{deps.research.pages.0.title}}`.
 * - Strings are inserted as they are, numbers and booleans as text, arrays of plain values
 *   joined with ", ", objects as JSON; null as the empty string.
 * - A placeholder that resolves to nothing fails the whole fill with a TemplateError naming
 *   every unknown placeholder, so a message is never sent with holes in it.
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
}

export interface FillOptions {
  /** Applied to every inserted value (e.g. HTML escaping); the template itself is left alone. */
  escape?: (value: string) => string;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
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
  for (const match of template.matchAll(PLACEHOLDER)) names.add(match[1] ?? '');
  return [...names];
}

/** Fills every placeholder, or throws a TemplateError naming the ones that cannot be filled. */
export function fillTemplate(template: string, scope: TemplateScope, options: FillOptions = {}): string {
  const unknown: string[] = [];
  const invalid: string[] = [];
  const out = template.replace(PLACEHOLDER, (whole, rawName: string) => {
    const name = rawName ?? '';
    if (name === '' || !(name.startsWith('deps.') ? DEP_PATH.test(name) : NAME.test(name))) {
      if (!invalid.includes(whole)) invalid.push(whole);
      return whole;
    }
    const value = resolve(name, scope);
    if (value === MISSING) {
      if (!unknown.includes(name)) unknown.push(name);
      return whole;
    }
    const text = render(value);
    return options.escape ? options.escape(text) : text;
  });
  if (invalid.length > 0) {
    throw new TemplateError(`Invalid placeholder${invalid.length > 1 ? 's' : ''} ${invalid.join(', ')}: use {{name}} or {{deps.<key>.<path>}}`);
  }
  if (unknown.length > 0) {
    const depKeys = Object.keys(scope.deps);
    const hint = depKeys.length ? ` (dependencies: ${depKeys.join(', ')})` : ' (this task has no dependencies)';
    throw new TemplateError(
      `Unknown template placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `{{${n}}}`).join(', ')}: ` +
        `not found in variables, input or dependency results${unknown.some((n) => n.startsWith('deps.')) ? hint : ''}`,
      unknown,
    );
  }
  return out;
}

function resolve(name: string, scope: TemplateScope): unknown {
  if (name.startsWith('deps.')) {
    const rest = name.slice('deps.'.length);
    // Keys may hold dots: try the longest key that the rest of the name starts with.
    const keys = Object.keys(scope.deps)
      .filter((key) => rest === key || rest.startsWith(`${key}.`))
      .sort((a, b) => b.length - a.length);
    for (const key of keys) {
      const path = rest === key ? [] : rest.slice(key.length + 1).split('.');
      const value = walk(scope.deps[key], path);
      if (value !== MISSING) return value;
    }
    return MISSING;
  }
  const [head = '', ...path] = name.split('.');
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

function render(value: unknown): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return value.map(render).join(', ');
  return JSON.stringify(value, null, 2);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A readable plain-text alternative for an HTML body (no parser: block tags become line breaks). */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<(p|div|h[1-6]|ul|ol|table|section|article|blockquote|pre)\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/(p|div|h[1-6]|ul|ol|tr|table|section|article|header|footer|blockquote|pre)\s*>/gi, '\n')
    .replace(/<a\b[^>]*href\s*=\s*"([^"]*)"[^>]*>([\s\S]*?)<\/a\s*>/gi, (_, href: string, label: string) =>
      label.replace(/<[^>]*>/g, '').trim() === href ? href : `${label} (${href})`,
    )
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Parses an agent's input with its schema; a bad input fails without retry, saying why. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, agent: string): z.output<T> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  throw new NonRetryableError(`Invalid ${agent} input: ${problems.join('; ')}`);
}

