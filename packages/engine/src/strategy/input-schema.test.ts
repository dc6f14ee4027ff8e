import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.ts';
import { checkExecutionInput, checkInputSchema, INPUT_LIMITS } from './input-schema.ts';

const schema = {
  type: 'object',
  properties: {
    recipient: { type: 'string', format: 'email' },
    launch: { type: 'object', properties: { date: { type: 'string', format: 'date' } }, required: ['date'] },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['recipient'],
  additionalProperties: false,
};

/** The refusal's message and path, or undefined when accepted. */
function refusal(run: () => void): { message: string; path: unknown } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).code).toBe('VALIDATION');
    return { message: (error as EngineError).message, path: (error as EngineError).details?.path };
  }
}

describe('checkInputSchema', () => {
  it('accepts a draft 2020-12 object schema', () => {
    expect(refusal(() => checkInputSchema(schema))).toBeUndefined();
    expect(refusal(() => checkInputSchema({ properties: { n: { type: 'integer', minimum: 1 } } }))).toBeUndefined();
  });

  it.each([
    ['not an object', [], 'inputSchema: must be a JSON Schema object'],
    ['a schema of something else than an object', { type: 'string' }, 'inputSchema: must describe an object (type "object"): an execution\'s input is an object'],
    ['an unknown keyword (a typo)', { type: 'object', propertys: {} }, 'inputSchema: strict mode: unknown keyword: "propertys"'],
    ['a malformed keyword', { type: 'object', required: 'name' }, 'inputSchema: data/required must be array'],
    ['an unresolvable $ref', { type: 'object', properties: { a: { $ref: 'https://example.com/x.json' } } }, "inputSchema: can't resolve reference https://example.com/x.json from id #"],
  ])('refuses %s, naming inputSchema', (_, bad, message) => {
    expect(refusal(() => checkInputSchema(bad))).toEqual({ message, path: 'inputSchema' });
  });

  it('refuses a schema over the size limit', () => {
    const big = { type: 'object', description: 'x'.repeat(INPUT_LIMITS.schemaBytes) };
    expect(refusal(() => checkInputSchema(big))?.message).toBe(`inputSchema: at most ${INPUT_LIMITS.schemaBytes} bytes of JSON`);
  });
});

describe('checkExecutionInput', () => {
  it('accepts an input the schema accepts', () => {
    expect(refusal(() => checkExecutionInput(schema, { recipient: 'a@example.com', launch: { date: '2026-12-24' }, tags: ['x'] }))).toBeUndefined();
  });

  it.each([
    ['a missing required field', {}, 'input.recipient: is required'],
    ['a field of the wrong type', { recipient: 42 }, 'input.recipient: must be string'],
    ['a bad format', { recipient: 'not-an-address' }, 'input.recipient: must match format "email"'],
    ['a nested missing field', { recipient: 'a@example.com', launch: {} }, 'input.launch.date: is required'],
    ['an array item of the wrong type', { recipient: 'a@example.com', tags: ['a', 3] }, 'input.tags[1]: must be string'],
    ['a field the schema does not allow', { recipient: 'a@example.com', extra: true }, "input.extra: is not allowed by the strategy's inputSchema"],
  ])('refuses %s, naming the field', (_, input, message) => {
    const refused = refusal(() => checkExecutionInput(schema, input));
    expect(refused?.message).toBe(message);
    expect(refused?.path).toBe(message.slice(0, message.indexOf(':')));
  });

  it("answers the input with the schema's defaults filled in, leaving the caller's object alone", () => {
    const withDefaults = { type: 'object', properties: { tone: { type: 'string', default: 'friendly' }, launch: { type: 'object', properties: { day: { type: 'string', default: 'Monday' } }, default: {} } } };
    const given = { launch: {} };
    expect(checkExecutionInput(withDefaults, given)).toEqual({ tone: 'friendly', launch: { day: 'Monday' } });
    expect(given).toEqual({ launch: {} });
    expect(checkExecutionInput(withDefaults, { tone: 'formal' })).toEqual({ tone: 'formal', launch: { day: 'Monday' } });
  });

  it('refuses a default the validator would ignore (strict), naming inputSchema', () => {
    const ignored = { type: 'object', anyOf: [{ properties: { a: { type: 'string', default: 'x' } } }] };
    expect(refusal(() => checkInputSchema(ignored))?.message).toMatch(/^inputSchema: strict mode: default is ignored/);
  });

  it('takes only {} when the strategy declares no inputSchema', () => {
    expect(refusal(() => checkExecutionInput(null, {}))).toBeUndefined();
    expect(refusal(() => checkExecutionInput(null, { a: 1 }))).toEqual({ message: 'input: this strategy declares no inputSchema, so it takes no input', path: 'input' });
  });

  it('refuses an input over the size limit', () => {
    const open = { type: 'object' };
    expect(refusal(() => checkExecutionInput(open, { text: 'x'.repeat(INPUT_LIMITS.inputBytes) }))?.message).toBe(`input: at most ${INPUT_LIMITS.inputBytes} bytes of JSON`);
  });
});
