import { checkExecutionInput, checkInputSchema, EngineError } from '@strata/engine';
import { describe, expect, it } from 'vitest';
import { diffVersions } from '../src/lib/strategy/diff.ts';
import { definitionOf, draftOf, duplicateOf, exportJson, parseImport } from '../src/lib/strategy/draft.ts';
import { type DraftParameter, type DraftParameters, listOfSchema, newParameter, parametersOf, parameterSummaries, schemaOfList, schemaOfParameters, toBuilderMode, toJsonMode } from '../src/lib/strategy/parameters.ts';
import { defaultsOf, firstInputProblem } from '../src/lib/strategy/schema-form.ts';
import { inputFieldOf } from '../src/lib/strategy/start.ts';
import type { StrategyDetail } from '../src/lib/strategy/types.ts';

/** The pure parts of parameters in the dashboard: the builder and its JSON, the start form's checks, the version diff. */

const param = (values: Partial<DraftParameter> & Pick<DraftParameter, 'name' | 'type'>): DraftParameter => ({ uid: `u-${values.name}`, required: false, description: '', default: '', ...values });

/** What the builder writes for a recipient, a count, a flag, a date and tags. */
const BUILT = {
  type: 'object',
  properties: {
    recipient: { type: 'string', format: 'email', description: 'Who gets the mail' },
    count: { type: 'integer', default: 3 },
    ratio: { type: 'number', default: 0.5 },
    urgent: { type: 'boolean', default: false },
    launch: { type: 'string', format: 'date', default: '2026-12-24' },
    tags: { type: 'array', items: { type: 'string' }, default: ['spring', 'launch'] },
    note: { type: 'string' },
  },
  required: ['recipient', 'launch'],
  additionalProperties: false,
};

const list: DraftParameter[] = [
  param({ name: 'recipient', type: 'email', required: true, description: 'Who gets the mail' }),
  param({ name: 'count', type: 'integer', default: '3' }),
  param({ name: 'ratio', type: 'number', default: '0.5' }),
  param({ name: 'urgent', type: 'boolean', default: 'false' }),
  param({ name: 'launch', type: 'date', required: true, default: '2026-12-24' }),
  param({ name: 'tags', type: 'list', default: 'spring, launch' }),
  param({ name: 'note', type: 'text' }),
];

const stored: StrategyDetail = {
  id: 'strat_1',
  workspaceId: 'ws_1',
  name: 'Launch',
  description: null,
  onTaskFailure: 'fail',
  createdAt: new Date(),
  version: 1,
  latestVersion: 1,
  versionCreatedAt: new Date(),
  archivedAt: null,
  inputSchema: BUILT,
  items: [{ id: 'l4_a', key: 'a', description: 'A', agentType: 'email', priority: 'medium', dependsOn: [], input: { to: '{{input.recipient}}', subject: 's' }, maxRetries: 3, timeoutSeconds: 300, l1: null, l2: null, l3: null }],
};

describe('the parameter builder', () => {
  it('writes a JSON Schema the server accepts, and reads it back as the same list', () => {
    const result = schemaOfList(list);
    expect(result).toEqual({ ok: true, schema: BUILT });
    expect(() => checkInputSchema(BUILT)).not.toThrow();
    expect(listOfSchema(BUILT)?.map(({ uid: _uid, ...rest }) => rest)).toEqual(list.map(({ uid: _uid, ...rest }) => rest));
    // No parameters: no schema, the strategy takes no input.
    expect(schemaOfList([])).toEqual({ ok: true, schema: null });
    expect(listOfSchema(null)).toEqual([]);
  });

  it('names the parameter and the field of each problem before saving', () => {
    expect(schemaOfList([param({ name: '', type: 'text' })])).toMatchObject({ ok: false, uid: 'u-', field: 'name', message: 'Name the parameter' });
    expect(schemaOfList([param({ name: 'first name', type: 'text' })])).toMatchObject({ ok: false, field: 'name', message: expect.stringContaining('{{input.<name>}}') });
    expect(schemaOfList([param({ name: 'a', type: 'text' }), { ...param({ name: 'a', type: 'email' }), uid: 'second' }])).toMatchObject({ ok: false, uid: 'second', field: 'name', message: 'Another parameter is named a' });
    expect(schemaOfList([param({ name: 'n', type: 'integer', default: '1.5' })])).toMatchObject({ ok: false, uid: 'u-n', field: 'default', message: 'The default must be a whole number' });
    expect(schemaOfList([param({ name: 'n', type: 'number', default: 'many' })])).toMatchObject({ ok: false, field: 'default', message: 'The default must be a number' });
    expect(schemaOfList([param({ name: 'd', type: 'date', default: '24/12/2026' })])).toMatchObject({ ok: false, field: 'default', message: 'The default must be a date (YYYY-MM-DD)' });
    expect(schemaOfList([param({ name: 'e', type: 'email', default: 'nobody' })])).toMatchObject({ ok: false, field: 'default', message: 'The default must be an email address' });
  });

  it('gives a new parameter a free name', () => {
    expect(newParameter([param({ name: 'param1', type: 'text' })])).toMatchObject({ name: 'param2', type: 'text', required: false, default: '' });
  });

  it('opens a schema it cannot represent as JSON, keeping every keyword', () => {
    const richer = [
      { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object', properties: { launch: { type: 'object', properties: { date: { type: 'string' } } } }, additionalProperties: false },
      { type: 'object', properties: { a: { type: 'string', default: '' } }, additionalProperties: false },
      { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, default: ['a,b'] } }, additionalProperties: false },
      { $schema: 'https://json-schema.org/draft/2020-12/schema', ...BUILT },
      { type: 'object' },
    ];
    for (const schema of richer) {
      const parameters = parametersOf(schema);
      expect(parameters.mode, JSON.stringify(schema)).toBe('json');
      expect(schemaOfParameters(parameters)).toEqual({ ok: true, schema });
    }
    // `required` in another order is the same schema: the builder takes it.
    expect(parametersOf({ ...BUILT, required: ['launch', 'recipient'] }).mode).toBe('builder');
  });

  it('switches between the builder and JSON without losing anything, and stays JSON for what the builder cannot show', () => {
    const parameters: DraftParameters = { mode: 'builder', list: structuredClone(list), json: '' };
    expect(toJsonMode(parameters)).toBeNull();
    expect(parameters.mode).toBe('json');
    expect(JSON.parse(parameters.json)).toEqual(BUILT);
    expect(toBuilderMode(parameters)).toBeNull();
    expect(schemaOfParameters(parameters)).toEqual({ ok: true, schema: BUILT });

    parameters.mode = 'json';
    parameters.json = JSON.stringify({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } } });
    expect(toBuilderMode(parameters)).toMatchObject({ field: 'json', message: expect.stringContaining('stays JSON') });
    expect(parameters.mode).toBe('json');
    parameters.json = '{ "type": ';
    expect(toBuilderMode(parameters)).toMatchObject({ field: 'json', message: expect.stringMatching(/^Not valid JSON/) });
    parameters.json = '[]';
    expect(schemaOfParameters(parameters)).toMatchObject({ ok: false, field: 'json', message: 'The schema must be a JSON object' });
    parameters.json = '  ';
    expect(schemaOfParameters(parameters)).toEqual({ ok: true, schema: null });

    // A builder with a problem does not switch: the problem is shown first.
    const broken: DraftParameters = { mode: 'builder', list: [param({ name: '', type: 'text' })], json: '' };
    expect(toJsonMode(broken)).toMatchObject({ field: 'name' });
    expect(broken.mode).toBe('builder');
  });

  it('export, import and duplicate keep the inputSchema', () => {
    const exported = JSON.parse(exportJson(stored));
    expect(exported.inputSchema).toEqual(BUILT);
    const imported = parseImport(JSON.stringify(exported));
    expect(imported.ok && definitionOf(imported.draft).inputSchema).toEqual(BUILT);
    expect(duplicateOf(stored).inputSchema).toEqual(BUILT);
    const rich = { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } };
    expect(definitionOf(draftOf({ ...stored, inputSchema: rich })).inputSchema).toEqual(rich);
    expect('inputSchema' in definitionOf(draftOf({ ...stored, inputSchema: null }))).toBe(false);
    expect(parseImport('{"items": [], "inputSchema": "x"}')).toEqual({ ok: false, error: '"inputSchema" must be a JSON Schema object' });
  });

  it('describes each parameter for the strategy page', () => {
    expect(parameterSummaries(BUILT).slice(0, 2)).toEqual([
      { name: 'recipient', type: 'Email address', required: true, description: 'Who gets the mail', default: undefined, more: {} },
      { name: 'count', type: 'Whole number', required: false, description: null, default: 3, more: {} },
    ]);
    expect(parameterSummaries({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } } })).toEqual([{ name: 'n', type: 'integer', required: false, description: null, default: undefined, more: { minimum: 1 } }]);
  });
});

describe('the start form', () => {
  it('starts from the defaults the schema declares', () => {
    expect(defaultsOf(BUILT)).toEqual({ count: 3, ratio: 0.5, urgent: false, launch: '2026-12-24', tags: ['spring', 'launch'] });
    expect(defaultsOf({ type: 'object', properties: { a: { type: 'string' } } })).toBeUndefined();
    expect(defaultsOf({ type: 'object', properties: { launch: { type: 'object', properties: { date: { type: 'string', default: '2026-01-01' } } } } })).toEqual({ launch: { date: '2026-01-01' } });
  });

  /** The field the server's check names for an input (null: accepted). */
  const serverField = (schema: Record<string, unknown>, input: Record<string, unknown>) => {
    try {
      checkExecutionInput(schema, input);
      return null;
    } catch (error) {
      if (!(error instanceof EngineError)) throw error;
      return error.details?.path;
    }
  };

  it('finds the obvious problems first, naming the same field as the server', () => {
    const good = { recipient: 'a@example.com', launch: '2026-12-24' };
    expect(firstInputProblem(BUILT, good)).toBeNull();
    expect(serverField(BUILT, good)).toBeNull();
    const nested = { type: 'object', properties: { launch: { type: 'object', properties: { n: { type: 'integer', maximum: 5 } }, required: ['n'] }, tags: { type: 'array', items: { type: 'string', minLength: 2 } } } };
    const cases: [Record<string, unknown>, Record<string, unknown>, { key: string; message: string }][] = [
      [BUILT, { launch: '2026-12-24' }, { key: 'recipient', message: 'is required' }],
      [BUILT, { ...good, recipient: 'nobody' }, { key: 'recipient', message: 'must be an email address' }],
      [BUILT, { ...good, count: 1.5 }, { key: 'count', message: 'must be a whole number' }],
      [BUILT, { ...good, ratio: 'x' }, { key: 'ratio', message: 'must be a number' }],
      [BUILT, { ...good, launch: '2026-13-45' }, { key: 'launch', message: 'must be a date (YYYY-MM-DD)' }],
      [nested, { launch: {} }, { key: 'launch.n', message: 'is required' }],
      [nested, { launch: { n: 6 } }, { key: 'launch.n', message: 'must be at most 5' }],
      [nested, { tags: ['ok', 'x'] }, { key: 'tags[1]', message: 'must be at least 2 characters' }],
    ];
    // An empty list is a list, as for the server (minItems says otherwise).
    expect(firstInputProblem({ ...BUILT, required: ['tags'] }, { tags: [] })).toBeNull();
    expect(serverField({ ...BUILT, required: ['tags'] }, { tags: [] })).toBeNull();
    for (const [schema, input, problem] of cases) {
      expect(firstInputProblem(schema, input), JSON.stringify(input)).toEqual(problem);
      expect(serverField(schema, input), JSON.stringify(input)).toBe(`input.${problem.key}`);
    }
  });

  it("puts the server's refusal beside the field it names", () => {
    expect(inputFieldOf('input.recipient')).toBe('recipient');
    expect(inputFieldOf('input.tags[1]')).toBe('tags[1]');
    expect(inputFieldOf('input.launch.date')).toBe('launch.date');
    expect(inputFieldOf('input')).toBeNull();
    expect(inputFieldOf('strategyId')).toBeNull();
    expect(inputFieldOf(undefined)).toBeNull();
  });
});

describe('comparing versions', () => {
  it('names the parameters added, removed and changed, and the schema keywords that changed', () => {
    const newer: StrategyDetail = {
      ...stored,
      version: 2,
      inputSchema: {
        ...BUILT,
        properties: { ...BUILT.properties, count: { type: 'number', default: 5 }, region: { type: 'string', description: 'Where' }, note: undefined },
        required: ['recipient', 'launch', 'region'],
        additionalProperties: true,
      },
    };
    delete (newer.inputSchema!.properties as Record<string, unknown>).note;
    const diff = diffVersions(stored, newer);
    expect(diff.parameters).toEqual({
      added: [{ name: 'region', type: 'Text', required: true, description: 'Where', default: undefined, more: {} }],
      removed: [{ name: 'note', type: 'Text', required: false, description: null, default: undefined, more: {} }],
      changed: [
        {
          name: 'count',
          changes: [
            { field: 'type', before: 'Whole number', after: 'Number' },
            { field: 'default', before: '3', after: '5' },
          ],
        },
      ],
      schema: [{ field: 'additionalProperties', before: 'false', after: 'true' }],
    });
    expect(diffVersions(stored, { ...stored, inputSchema: null }).parameters).toMatchObject({ removed: expect.any(Array), schema: [{ field: 'inputSchema', before: 'declared', after: 'none' }] });
    expect(diffVersions(stored, stored).parameters).toEqual({ added: [], removed: [], changed: [], schema: [] });
  });
});
