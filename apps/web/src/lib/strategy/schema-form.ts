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

const isObject = (value: unknown): value is JsonSchema => !!value && typeof value === 'object' && !Array.isArray(value);
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
      return { kind: 'string', multiline: max > 1000, format: typeof schema.format === 'string' ? schema.format : null };
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
