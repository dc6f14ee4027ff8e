/**
 * What the input form can draw for a piece of JSON Schema (as GET /api/agents serves it, from
 * zod): objects with properties, strings (long ones as a text area), numbers, integers,
 * booleans, enums, arrays of those or of objects, and `string | string[]`. Anything else is
 * edited as raw JSON.
 */
export type JsonSchema = Record<string, unknown>;

export type FieldKind =
  | { kind: 'object'; properties: { name: string; schema: JsonSchema; required: boolean }[] }
  | { kind: 'string'; multiline: boolean; format: string | null }
  | { kind: 'number'; integer: boolean; minimum: number | null; maximum: number | null }
  | { kind: 'boolean' }
  | { kind: 'enum'; options: (string | number)[] }
  | { kind: 'list'; item: JsonSchema; itemKind: FieldKind }
  | { kind: 'one-or-many'; item: JsonSchema }
  | { kind: 'raw' };

export const isObject = (value: unknown): value is JsonSchema => !!value && typeof value === 'object' && !Array.isArray(value);
const SCALARS = new Set(['string', 'number', 'boolean', 'enum']);

/** Strips `null` from `anyOf` (an optional field's null is the same as leaving it out here). */
function withoutNull(schema: JsonSchema): JsonSchema {
  const anyOf = Array.isArray(schema.anyOf) ? schema.anyOf.filter(isObject) : null;
  if (!anyOf) return schema;
  const rest = anyOf.filter((s) => s.type !== 'null');
  return rest.length === 1 ? { ...schema, ...rest[0], anyOf: undefined } : { ...schema, anyOf: rest };
}

export function fieldKind(raw: JsonSchema): FieldKind {
  const schema = withoutNull(raw);
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string' || typeof v === 'number')) return { kind: 'enum', options: schema.enum as (string | number)[] };
  if (Array.isArray(schema.anyOf)) {
    const options = schema.anyOf.filter(isObject);
    const string = options.find((s) => s.type === 'string' && !s.format && !s.enum);
    const array = options.find((s) => s.type === 'array' && isObject(s.items) && (s.items as JsonSchema).type === 'string');
    if (options.length === 2 && string && array) return { kind: 'one-or-many', item: array.items as JsonSchema };
    // Several spellings of one string (a date or a date-time): a text field takes any of them.
    if (options.length > 0 && options.every((s) => s.type === 'string')) return { kind: 'string', multiline: false, format: null };
    return { kind: 'raw' };
  }
  switch (schema.type) {
    case 'string': {
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
      const format = typeof schema.format === 'string' ? schema.format : null;
      // An address, a date or a link is one line, however long it may be.
      return { kind: 'string', multiline: max > 1000 && !format, format };
    }
    case 'number':
    case 'integer':
      return {
        kind: 'number',
        integer: schema.type === 'integer',
        minimum: typeof schema.minimum === 'number' ? schema.minimum : null,
        maximum: typeof schema.maximum === 'number' ? schema.maximum : null,
      };
    case 'boolean':
      return { kind: 'boolean' };
    case 'array': {
      if (!isObject(schema.items)) return { kind: 'raw' };
      const itemKind = fieldKind(schema.items);
      if (SCALARS.has(itemKind.kind) || itemKind.kind === 'object') return { kind: 'list', item: schema.items, itemKind };
      return { kind: 'raw' };
    }
    case 'object': {
      if (!isObject(schema.properties) || Object.keys(schema.properties).length === 0) return { kind: 'raw' };
      const required = new Set(Array.isArray(schema.required) ? schema.required : []);
      return {
        kind: 'object',
        properties: Object.entries(schema.properties)
          .filter((entry): entry is [string, JsonSchema] => isObject(entry[1]))
          .map(([name, property]) => ({ name, schema: property, required: required.has(name) })),
      };
    }
    default:
      return { kind: 'raw' };
  }
}

/** An empty value for a new list entry. */
export function emptyValue(kind: FieldKind): unknown {
  switch (kind.kind) {
    case 'object':
      return {};
    case 'boolean':
      return false;
    case 'enum':
      return kind.options[0];
    case 'number':
      return undefined;
    default:
      return '';
  }
}

/**
 * Sets (or, for undefined, removes) a field of an object, answering a new object: optional
 * fields left empty are left out rather than sent as "".
 */
export function withField(object: Record<string, unknown>, name: string, value: unknown): Record<string, unknown> {
  const next = { ...object };
  if (value === undefined || value === '') delete next[name];
  else next[name] = value;
  return next;
}

/** A list of one entry is sent as that entry, for `string | string[]` fields (`to: "a@b"`). */
export function oneOrMany(values: string[]): string | string[] | undefined {
  const kept = values.map((v) => v.trim()).filter(Boolean);
  if (kept.length === 0) return undefined;
  return kept.length === 1 ? kept[0] : kept;
}

/** The label people read for a field name: `durationMinutes` → `Duration minutes`. */
export function humanize(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The starting value of a form for a schema: every `default` it declares, in objects and nested
 * objects (an object with no defaults inside is left out). Undefined when there are none.
 */
export function defaultsOf(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return structuredClone(schema.default);
  const kind = fieldKind(schema);
  if (kind.kind !== 'object') return undefined;
  const out: Record<string, unknown> = {};
  for (const property of kind.properties) {
    const value = defaultsOf(property.schema);
    if (value !== undefined) out[property.name] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The first obvious problem with a value the form built, before it is sent: a required field
 * left empty, a number that is not one, an address or a date that cannot be one, a value
 * outside its bounds. The server checks everything again (its answer names the field the same
 * way); what this does not know about it leaves to the server. `key` is the field as the form
 * names it (`recipient`, `launch.date`, `tags[1]`).
 */
export function firstInputProblem(schema: JsonSchema, value: unknown, path: (string | number)[] = []): { key: string; message: string } | null {
  const key = path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
  const problem = (message: string) => ({ key, message });
  if (value === undefined) return null;
  const kind = fieldKind(schema);
  switch (kind.kind) {
    case 'object': {
      if (!isObject(value)) return problem('must be an object');
      for (const property of kind.properties) {
        const field = value[property.name];
        if (property.required && field === undefined) return { key: [key, property.name].filter(Boolean).join('.'), message: 'is required' };
        const inner = firstInputProblem(property.schema, field, [...path, property.name]);
        if (inner) return inner;
      }
      return null;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return problem('must be a number');
      if (kind.integer && !Number.isInteger(value)) return problem('must be a whole number');
      if (kind.minimum !== null && value < kind.minimum) return problem(`must be at least ${kind.minimum}`);
      if (kind.maximum !== null && value > kind.maximum) return problem(`must be at most ${kind.maximum}`);
      return null;
    }
    case 'string': {
      if (typeof value !== 'string') return problem('must be text');
      if (kind.format === 'email' && !EMAIL.test(value.trim())) return problem('must be an email address');
      if (kind.format === 'date' && (!DATE.test(value) || Number.isNaN(Date.parse(value)))) return problem('must be a date (YYYY-MM-DD)');
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
      if (value.length < min) return problem(`must be at least ${min} characters`);
      if (value.length > max) return problem(`must be at most ${max} characters`);
      return null;
    }
    case 'list': {
      if (!Array.isArray(value)) return problem('must be a list');
      for (const [index, entry] of value.entries()) {
        const inner = firstInputProblem(kind.item, entry, [...path, index]);
        if (inner) return inner;
      }
      return null;
    }
    default:
      return null;
  }
}
