/**
 * A strategy's parameters: the `inputSchema` (JSON Schema of an execution's `input`) as the
 * form edits it. The builder covers a flat list of named parameters of a few types; a schema
 * it cannot represent exactly is edited as JSON, so no keyword is ever dropped.
 */
import { isObject, type JsonSchema } from './schema-form.ts';

/** The builder's types, each with the schema it writes (the compiler checks the list against ParameterType). */
export const PARAMETER_TYPES = [
  { type: 'text', label: 'Text', schema: { type: 'string' } },
  { type: 'email', label: 'Email address', schema: { type: 'string', format: 'email' } },
  { type: 'number', label: 'Number', schema: { type: 'number' } },
  { type: 'integer', label: 'Whole number', schema: { type: 'integer' } },
  { type: 'boolean', label: 'True / false', schema: { type: 'boolean' } },
  { type: 'date', label: 'Date', schema: { type: 'string', format: 'date' } },
  { type: 'list', label: 'List of text', schema: { type: 'array', items: { type: 'string' } } },
] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number]['type'];

/** One parameter as the builder edits it; the default as typed (a list's entries separated by commas). */
export interface DraftParameter {
  uid: string;
  name: string;
  type: ParameterType;
  required: boolean;
  description: string;
  default: string;
}

export interface DraftParameters {
  /** `json` when the schema is edited as text (a schema the builder cannot represent always is). */
  mode: 'builder' | 'json';
  list: DraftParameter[];
  json: string;
}

/** A problem the form shows before saving: beside a parameter's field, or beside the JSON. */
export interface ParameterIssue {
  uid: string | null;
  field: 'name' | 'default' | 'json';
  message: string;
}

export type ParametersResult = { ok: true; schema: JsonSchema | null } | ({ ok: false } & ParameterIssue);

/** What `{{input.<name>}}` can read: the template's path segments. */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

let uids = 0;
const uid = () => `param-${++uids}-${Math.random().toString(36).slice(2, 8)}`;

export const typeLabel = (type: ParameterType): string => PARAMETER_TYPES.find((t) => t.type === type)!.label;

export function newParameter(list: readonly DraftParameter[]): DraftParameter {
  const names = new Set(list.map((p) => p.name));
  let n = list.length + 1;
  while (names.has(`param${n}`)) n += 1;
  return { uid: uid(), name: `param${n}`, type: 'text', required: false, description: '', default: '' };
}

/** Deep equality of JSON values, object keys in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
}

/** The builder type a property's schema is, ignoring its description and default; null when none is. */
export function parameterTypeOf(schema: unknown): ParameterType | null {
  if (!isObject(schema)) return null;
  const { description: _d, default: _v, ...shape } = schema;
  return PARAMETER_TYPES.find((t) => sameJson(shape, t.schema))?.type ?? null;
}

/** A default as the builder shows it; null when the builder's text could not give it back exactly. */
function defaultText(type: ParameterType, value: unknown): string | null {
  if (value === undefined) return '';
  switch (type) {
    case 'text':
    case 'email':
    case 'date':
      return typeof value === 'string' && value !== '' ? value : null;
    case 'number':
    case 'integer':
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : null;
    case 'list':
      return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.trim() === v && v !== '' && !v.includes(',')) ? value.join(', ') : null;
  }
}

/** A default typed in the builder, as the schema holds it. */
export function defaultValue(type: ParameterType, text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const t = text.trim();
  if (t === '') return { ok: true, value: undefined };
  switch (type) {
    case 'text':
      return { ok: true, value: text };
    case 'email':
      return EMAIL.test(t) ? { ok: true, value: t } : { ok: false, message: 'The default must be an email address' };
    case 'date':
      return DATE.test(t) && !Number.isNaN(Date.parse(t)) ? { ok: true, value: t } : { ok: false, message: 'The default must be a date (YYYY-MM-DD)' };
    case 'number':
    case 'integer': {
      const n = Number(t);
      if (!Number.isFinite(n)) return { ok: false, message: 'The default must be a number' };
      if (type === 'integer' && !Number.isInteger(n)) return { ok: false, message: 'The default must be a whole number' };
      return { ok: true, value: n };
    }
    case 'boolean':
      return t === 'true' || t === 'false' ? { ok: true, value: t === 'true' } : { ok: false, message: 'The default must be true or false' };
    case 'list':
      return { ok: true, value: t.split(',').map((v) => v.trim()).filter(Boolean) };
  }
}

/** The schema the builder's list writes: null when there are no parameters (the strategy takes no input). */
export function schemaOfList(list: readonly DraftParameter[]): ParametersResult {
  if (list.length === 0) return { ok: true, schema: null };
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const parameter of list) {
    const name = parameter.name.trim();
    const issue = (field: ParameterIssue['field'], message: string): ParametersResult => ({ ok: false, uid: parameter.uid, field, message });
    if (!name) return issue('name', 'Name the parameter');
    if (!NAME.test(name)) return issue('name', 'Use letters, digits, _ and -, starting with a letter or _ (items read it as {{input.<name>}})');
    if (Object.hasOwn(properties, name)) return issue('name', `Another parameter is named ${name}`);
    const fallback = defaultValue(parameter.type, parameter.default);
    if (!fallback.ok) return issue('default', fallback.message);
    const template = PARAMETER_TYPES.find((t) => t.type === parameter.type)!.schema;
    const description = parameter.description.trim();
    properties[name] = {
      ...structuredClone(template),
      ...(description ? { description } : {}),
      ...(fallback.value !== undefined ? { default: fallback.value } : {}),
    } as JsonSchema;
    if (parameter.required) required.push(name);
  }
  return { ok: true, schema: { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false } };
}

/**
 * The builder's list for a schema, or null when the list could not write that same schema back
 * (other keywords, nesting, types or defaults the builder does not have).
 */
export function listOfSchema(schema: JsonSchema | null | undefined): DraftParameter[] | null {
  if (!schema) return [];
  if (!isObject(schema.properties)) return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const list: DraftParameter[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    const type = parameterTypeOf(property);
    if (!type || !isObject(property)) return null;
    const text = defaultText(type, property.default);
    if (text === null || (property.description !== undefined && (typeof property.description !== 'string' || property.description.trim() !== property.description || property.description === ''))) return null;
    list.push({ uid: uid(), name, type, required: required.has(name), description: (property.description as string | undefined) ?? '', default: text });
  }
  const back = schemaOfList(list);
  // `required` in any order is the same schema.
  const sorted = (s: JsonSchema | null) => (s && Array.isArray(s.required) ? { ...s, required: [...s.required].sort() } : s);
  return back.ok && sameJson(sorted(back.schema), sorted(schema)) ? list : null;
}

export const schemaText = (schema: JsonSchema | null | undefined): string => (schema ? JSON.stringify(schema, null, 2) : '');

/** The form's parameters for a stored schema: the builder when it represents it exactly, else JSON. */
export function parametersOf(schema: JsonSchema | null | undefined): DraftParameters {
  const list = listOfSchema(schema);
  return list ? { mode: 'builder', list, json: '' } : { mode: 'json', list: [], json: schemaText(schema) };
}

/** The schema the JSON text holds (empty: none). The server checks it as a schema when saved. */
export function schemaOfJson(text: string): ParametersResult {
  if (!text.trim()) return { ok: true, schema: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, uid: null, field: 'json', message: `Not valid JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { ok: false, uid: null, field: 'json', message: 'The schema must be a JSON object' };
  return { ok: true, schema: value };
}

export function schemaOfParameters(parameters: DraftParameters): ParametersResult {
  return parameters.mode === 'json' ? schemaOfJson(parameters.json) : schemaOfList(parameters.list);
}

/** Switches to JSON: the builder's schema as text. Refused (the issue) while the builder's list has a problem. */
export function toJsonMode(parameters: DraftParameters): ParameterIssue | null {
  const result = schemaOfList(parameters.list);
  if (!result.ok) return result;
  parameters.mode = 'json';
  parameters.json = schemaText(result.schema);
  return null;
}

/** Switches to the builder, when it can represent the JSON exactly; else the reason it stays JSON. */
export function toBuilderMode(parameters: DraftParameters): ParameterIssue | null {
  const result = schemaOfJson(parameters.json);
  if (!result.ok) return result;
  const list = listOfSchema(result.schema);
  if (!list) {
    return {
      uid: null,
      field: 'json',
      message: 'The builder shows a flat list of text, email, number, whole number, true/false, date and list-of-text parameters with a description and a default; this schema uses more, so it stays JSON',
    };
  }
  parameters.mode = 'builder';
  parameters.list = list;
  return null;
}

/** One parameter as the strategy page and the version diff describe it. */
export interface ParameterSummary {
  name: string;
  /** The builder's label, or the schema's own type when it is not one of them. */
  type: string;
  required: boolean;
  description: string | null;
  default: unknown;
  /** Keywords beyond the type, description and default (minimum, enum, pattern...). */
  more: Record<string, unknown>;
}

/** The parameters a schema declares, in order (its top-level properties). */
export function parameterSummaries(schema: JsonSchema | null | undefined): ParameterSummary[] {
  if (!schema || !isObject(schema.properties)) return [];
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  return Object.entries(schema.properties).map(([name, raw]) => {
    const property = isObject(raw) ? raw : {};
    const known = parameterTypeOf(property);
    const { description, default: fallback, ...rest } = property;
    const more = known ? {} : Object.fromEntries(Object.entries(rest).filter(([key]) => key !== 'type'));
    const ownType = Array.isArray(property.type) ? property.type.join(' | ') : typeof property.type === 'string' ? property.type : 'any';
    return { name, type: known ? typeLabel(known) : ownType, required: required.has(name), description: typeof description === 'string' ? description : null, default: fallback, more };
  });
}

/** "2 parameters" for a schema that names some; null for one that names none. */
export function parametersLabel(schema: JsonSchema | null | undefined): string | null {
  const count = parameterSummaries(schema).length;
  return count === 0 ? null : `${count} ${count === 1 ? 'parameter' : 'parameters'}`;
}
