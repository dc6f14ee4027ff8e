import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { validationError } from '../errors.ts';

/**
 * A strategy's `inputSchema` (JSON Schema, draft 2020-12) and the `input` an execution starts
 * with. The schema is checked as a schema when the strategy is saved (unknown keywords and
 * malformed ones are refused, so a typo never silently accepts everything); an input is checked
 * against it at every start (API, schedule, re-run), each refusal naming the field.
 */
export const INPUT_LIMITS = {
  /** The schema, as JSON. */
  schemaBytes: 64 * 1024,
  /** An execution's input, as JSON. */
  inputBytes: 64 * 1024,
} as const;

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * One validator factory for the process. `strict` refuses unknown keywords and ambiguous
 * schemas; `allErrors` stays off so a refusal names the first problem, as every other check
 * does; `useDefaults` fills a property's `default` when the input leaves it out, so the
 * execution keeps (and its templates read) the parameters it really ran with.
 */
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: false, validateFormats: true, useDefaults: true }));

/** Compiled validators by schema text: versions are immutable, so a schema compiles once. */
const compiled = new Map<string, ValidateFunction>();
const COMPILED_MAX = 500;

/** `input.to` / `input.items[2]` from a JSON pointer such as `/to` or `/items/2`. */
function fieldOf(instancePath: string, error: ErrorObject): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') parts.push(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties') parts.push(String((error.params as { additionalProperty: string }).additionalProperty));
  return parts.reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : `${out}.${part}`), 'input');
}

function messageOf(error: ErrorObject): string {
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'additionalProperties') return 'is not allowed by the strategy\'s inputSchema';
  return error.message ?? 'is invalid';
}

/**
 * Checks a strategy's inputSchema as a schema: an object, within the size limit, of type
 * `object` (an input is always an object), and valid draft 2020-12 that compiles. Throws a
 * VALIDATION error whose path is `inputSchema`.
 */
export function checkInputSchema(schema: unknown): asserts schema is Record<string, unknown> {
  const refuse = (message: string) => validationError(`inputSchema: ${message}`, { path: 'inputSchema' });
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw refuse('must be a JSON Schema object');
  if (Buffer.byteLength(JSON.stringify(schema)) > INPUT_LIMITS.schemaBytes) throw refuse(`at most ${INPUT_LIMITS.schemaBytes} bytes of JSON`);
  const type = (schema as { type?: unknown }).type;
  if (type !== undefined && type !== 'object') throw refuse('must describe an object (type "object"): an execution\'s input is an object');
  try {
    validatorOf(schema as Record<string, unknown>);
  } catch (error) {
    throw refuse((error as Error).message.replace(/^schema is invalid: /, ''));
  }
}

function validatorOf(schema: Record<string, unknown>): ValidateFunction {
  const text = JSON.stringify(schema);
  let validate = compiled.get(text);
  if (!validate) {
    // `$id`s would collide between strategies in one ajv instance: the schema is compiled without it.
    const { $id: _id, ...anonymous } = schema;
    validate = ajv.compile({ ...anonymous, type: 'object' });
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
    compiled.set(text, validate);
  }
  return validate;
}

/**
 * Checks an execution's input against its strategy version's schema and answers it with the
 * schema's defaults filled in (the caller's object is left as it was). Without a schema only
 * `{}` is accepted (a strategy that declares no parameters takes none). Throws a VALIDATION
 * error naming the field (`input.recipient: is required`).
 */
export function checkExecutionInput(schema: Record<string, unknown> | null, given: Record<string, unknown>): Record<string, unknown> {
  const input = structuredClone(given);
  if (Buffer.byteLength(JSON.stringify(input)) > INPUT_LIMITS.inputBytes) {
    throw validationError(`input: at most ${INPUT_LIMITS.inputBytes} bytes of JSON`, { path: 'input' });
  }
  if (!schema) {
    if (Object.keys(input).length > 0) throw validationError('input: this strategy declares no inputSchema, so it takes no input', { path: 'input' });
    return input;
  }
  const validate = validatorOf(schema);
  if (validate(input)) {
    // Defaults can make it grow: the limit holds for what is kept.
    if (Buffer.byteLength(JSON.stringify(input)) > INPUT_LIMITS.inputBytes) throw validationError(`input: at most ${INPUT_LIMITS.inputBytes} bytes of JSON with its defaults`, { path: 'input' });
    return input;
  }
  const error = validate.errors?.[0];
  if (!error) throw validationError('input: is invalid', { path: 'input' });
  const field = fieldOf(error.instancePath, error);
  throw validationError(`${field}: ${messageOf(error)}`, { path: field });
}
