import { AgentRegistry } from '@strata/engine';
import { registerBuiltInAgents } from '@strata/agents';
import { describe, expect, it } from 'vitest';
import { layoutDag, NODE_WIDTH } from '../src/lib/components/dag/layout.ts';
import { diffVersions } from '../src/lib/strategy/diff.ts';
import { definitionOf, draftOf, duplicateOf, levelTree, moveItem, newItem, parseImport, removeItem, renameKey } from '../src/lib/strategy/draft.ts';
import { inputPathKey, placeOf } from '../src/lib/strategy/field-errors.ts';
import { fieldKind, oneOrMany, withField } from '../src/lib/strategy/schema-form.ts';
import type { AgentEntry, StrategyDetail } from '../src/lib/strategy/types.ts';

/** The pure parts of the strategy pages: the form model, error placement, the schema form's kinds, the graph layout. */

const deps = { config: { SMTP_FROM: 'strata@localhost', AGENT_FETCH_ALLOW_HOSTS: [] }, db: {} } as never;
const catalog: AgentEntry[] = registerBuiltInAgents(new AgentRegistry(), deps).catalog();
const schemaOf = (type: string) => catalog.find((a) => a.type === type)!.inputSchema!;
const property = (type: string, name: string) => (schemaOf(type).properties as Record<string, Record<string, unknown>>)[name]!;

const stored: StrategyDetail = {
  id: 'strat_1',
  workspaceId: 'ws_1',
  name: 'Launch',
  description: null,
  onTaskFailure: 'fail',
  createdAt: new Date(),
  version: 2,
  latestVersion: 2,
  versionCreatedAt: new Date(),
  archivedAt: null,
  inputSchema: null,
  maxConcurrency: null,
  items: [
    { id: 'l4_a', key: 'a', description: 'A', agentType: 'content', priority: 'high', dependsOn: [], input: { prompt: 'p' }, maxRetries: 3, timeoutSeconds: 300, l1: 'Grow', l2: null, l3: null, concurrencyKey: null, keyConcurrency: null, keyPerMinute: null },
    { id: 'l4_b', key: 'b', description: 'B', agentType: 'email', priority: 'medium', dependsOn: ['a'], input: { to: 'x@example.com', subject: 's' }, maxRetries: 1, timeoutSeconds: 60, l1: 'Grow', l2: 'Mail', l3: null, concurrencyKey: null, keyConcurrency: null, keyPerMinute: null },
  ],
};

describe('the schema form', () => {
  it('draws every field of the built-in agents, raw JSON only where nothing else fits', () => {
    const kinds = Object.fromEntries(
      catalog.map((agent) => {
        const root = fieldKind(agent.inputSchema!);
        if (root.kind !== 'object') throw new Error(agent.type);
        return [agent.type, Object.fromEntries(root.properties.map((p) => [p.name, fieldKind(p.schema).kind]))];
      }),
    );
    expect(kinds.email).toEqual({ to: 'one-or-many', cc: 'one-or-many', subject: 'string', body: 'string', template: 'string', variables: 'raw', html: 'boolean' });
    expect(kinds.content).toEqual({ prompt: 'string', kind: 'enum', maxTokens: 'number', temperature: 'number' });
    expect(kinds.research).toMatchObject({ urls: 'list', questions: 'list', keywords: 'list', maxBytes: 'number' });
    expect(kinds.scheduling).toMatchObject({ title: 'string', start: 'string', recurrence: 'object', attendees: 'list', organizer: 'object' });
    expect(kinds.analysis).toMatchObject({ source: 'enum', fields: 'list', percentiles: 'list' });
    expect(kinds.coordination).toMatchObject({ waitSeconds: 'number', until: 'string', waitForSignal: 'string', timeoutSeconds: 'number' });
    expect(kinds.approval).toEqual({ prompt: 'string', details: 'raw', timeoutSeconds: 'number', onTimeout: 'enum' });
  });

  it('reads the details a field needs', () => {
    expect(fieldKind(property('content', 'prompt'))).toEqual({ kind: 'string', multiline: true, format: null });
    expect(fieldKind(property('content', 'maxTokens'))).toEqual({ kind: 'number', integer: true, minimum: 1, maximum: 32768 });
    expect(fieldKind(property('content', 'kind'))).toEqual({ kind: 'enum', options: ['post', 'brief', 'outline'] });
    expect(fieldKind(property('scheduling', 'attendees'))).toMatchObject({ kind: 'list', itemKind: { kind: 'object', properties: [{ name: 'email', required: true }, { name: 'name', required: false }] } });
    // A string of several accepted spellings (a date or a date-time) is one text field.
    const recurrence = fieldKind(property('scheduling', 'recurrence'));
    expect(recurrence.kind === 'object' && fieldKind(recurrence.properties.find((p) => p.name === 'until')!.schema)).toEqual({ kind: 'string', multiline: false, format: null });
    expect(fieldKind({ anyOf: [{ type: 'integer' }, { type: 'null' }] })).toMatchObject({ kind: 'number', integer: true });
    expect(fieldKind({ anyOf: [{ type: 'integer' }, { type: 'boolean' }] })).toEqual({ kind: 'raw' });
    expect(fieldKind({ type: 'array', items: { type: 'array', items: { type: 'string' } } })).toEqual({ kind: 'raw' });
    expect(fieldKind({})).toEqual({ kind: 'raw' });
  });

  it('leaves empty optional fields out and sends one address as a string', () => {
    expect(withField({ a: 1, b: 'x' }, 'b', '')).toEqual({ a: 1 });
    expect(withField({ a: 1 }, 'b', undefined)).toEqual({ a: 1 });
    expect(withField({}, 'b', false)).toEqual({ b: false });
    expect(oneOrMany([' a@example.com ', ''])).toBe('a@example.com');
    expect(oneOrMany(['a@example.com', 'b@example.com'])).toEqual(['a@example.com', 'b@example.com']);
    expect(oneOrMany(['  '])).toBeUndefined();
  });
});

describe('where a server error goes', () => {
  it('maps the API field paths to the form', () => {
    expect(placeOf('name')).toEqual({ at: 'strategy', field: 'name' });
    expect(placeOf('items')).toEqual({ at: 'strategy', field: 'items' });
    expect(placeOf('items[3]')).toEqual({ at: 'item', index: 3, field: 'item' });
    expect(placeOf('items[2].dependsOn[0]')).toEqual({ at: 'item', index: 2, field: 'dependsOn' });
    expect(placeOf('items[0].description')).toEqual({ at: 'item', index: 0, field: 'description' });
    expect(placeOf('items[1].input.attendees[0].email')).toEqual({ at: 'input', index: 1, path: ['attendees', 0, 'email'] });
    expect(placeOf('items[1].input')).toEqual({ at: 'input', index: 1, path: [] });
    expect(placeOf(null)).toBeNull();
    expect(inputPathKey(['attendees', 0, 'email'])).toBe('attendees[0].email');
  });
});

describe('the form model', () => {
  it('round-trips a stored strategy into the definition the API takes', () => {
    expect(definitionOf(draftOf(stored))).toEqual({
      name: 'Launch',
      onTaskFailure: 'fail',
      items: [
        { key: 'a', description: 'A', agentType: 'content', priority: 'high', dependsOn: [], input: { prompt: 'p' }, maxRetries: 3, timeoutSeconds: 300, l1: 'Grow' },
        { key: 'b', description: 'B', agentType: 'email', priority: 'medium', dependsOn: ['a'], input: { to: 'x@example.com', subject: 's' }, maxRetries: 1, timeoutSeconds: 60, l1: 'Grow', l2: 'Mail' },
      ],
    });
    expect(duplicateOf(stored).name).toBe('Copy of Launch');
  });

  it('renaming a key renames the dependencies on it; removing an item removes them', () => {
    const draft = draftOf(stored);
    renameKey(draft, draft.items[0]!, 'research');
    expect(draft.items[1]!.dependsOn).toEqual(['research']);
    removeItem(draft, draft.items[0]!);
    expect(draft.items.map((i) => [i.key, i.dependsOn])).toEqual([['b', []]]);
  });

  it('moves an item up and down, never past either end', () => {
    const draft = draftOf(stored);
    const [a, b] = draft.items;
    moveItem(draft, b!, -1);
    expect(draft.items.map((i) => i.key)).toEqual(['b', 'a']);
    moveItem(draft, b!, -1);
    moveItem(draft, a!, 1);
    expect(draft.items.map((i) => i.key)).toEqual(['b', 'a']);
    moveItem(draft, b!, 1);
    expect(draft.items.map((i) => i.key)).toEqual(['a', 'b']);
  });

  it('starts a new item with a free key, the agent example as input and the labels of the item before', () => {
    const draft = draftOf(stored);
    draft.items.push({ ...draft.items[0]!, key: 'item-3' });
    const added = newItem(draft, catalog.find((a) => a.type === 'scheduling'), draft.items[1]);
    expect(added).toMatchObject({ key: 'item-4', agentType: 'scheduling', l1: 'Grow', l2: 'Mail', priority: 'medium', maxRetries: 3, timeoutSeconds: 300 });
    expect(added.input).toEqual(catalog.find((a) => a.type === 'scheduling')!.example);
    expect(added.input).not.toBe(catalog.find((a) => a.type === 'scheduling')!.example);
  });

  it('imports an exported file and refuses what is not one', () => {
    const imported = parseImport(JSON.stringify(definitionOf(draftOf(stored))));
    expect(imported.ok && definitionOf(imported.draft)).toEqual(definitionOf(draftOf(stored)));
    expect(parseImport('{')).toMatchObject({ ok: false, error: expect.stringMatching(/^Not valid JSON/) });
    expect(parseImport('[]')).toEqual({ ok: false, error: 'Expected a JSON object with "name" and "items"' });
    expect(parseImport('{"items": {}}')).toEqual({ ok: false, error: '"items" must be a list' });
    expect(parseImport('{"items": [1]}')).toEqual({ ok: false, error: 'Item #1 is not an object' });
    // What the server will judge is kept as written, so its errors land beside the fields.
    const loose = parseImport('{"name": 5, "items": [{"key": "a", "agentType": "telepathy", "priority": "urgent"}]}');
    expect(loose.ok && definitionOf(loose.draft)).toEqual({
      name: '5',
      onTaskFailure: 'fail',
      items: [{ key: 'a', description: '', agentType: 'telepathy', priority: 'medium', dependsOn: [], input: {}, maxRetries: 3, timeoutSeconds: 300 }],
    });
  });

  it('groups items into their levels in the order written', () => {
    const tree = levelTree([
      { key: 'a', l1: 'Grow', l2: 'Mail', l3: null },
      { key: 'b', l1: null, l2: null, l3: null },
      { key: 'c', l1: 'Grow', l2: 'Mail', l3: 'Week 1' },
      { key: 'd', l1: 'Grow', l2: 'Ads', l3: null },
    ]);
    expect(tree.map((l1) => [l1.label, l1.children.map((l2) => [l2.label, l2.children.map((l3) => [l3.label, l3.children.map((i) => i.key)])])])).toEqual([
      [
        'Grow',
        [
          [
            'Mail',
            [
              [null, ['a']],
              ['Week 1', ['c']],
            ],
          ],
          ['Ads', [[null, ['d']]]],
        ],
      ],
      [null, [[null, [[null, ['b']]]]]],
    ]);
  });
});

describe('the graph layout', () => {
  it('puts every dependency left of its dependants and leaves out edges to unknown nodes', () => {
    const layout = layoutDag(
      [
        { id: 'a', label: 'A' },
        { id: 'b', label: 'B' },
        { id: 'c', label: 'C' },
      ],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'a', to: 'c' },
        { from: 'ghost', to: 'c' },
        { from: 'c', to: 'c' },
      ],
    );
    const x = Object.fromEntries(layout.nodes.map((n) => [n.id, n.x]));
    expect(x.a! + NODE_WIDTH).toBeLessThan(x.b!);
    expect(x.b! + NODE_WIDTH).toBeLessThan(x.c!);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`)).toEqual(['a>b', 'b>c', 'a>c']);
    expect(layout.edges.every((e) => e.path.startsWith('M'))).toBe(true);
    expect(layout.nodes.find((n) => n.id === 'c')).toMatchObject({ after: ['b', 'a'], before: [] });
    expect(layout.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
  });

  it('lays out 400 nodes quickly enough to draw at once', () => {
    const nodes = Array.from({ length: 400 }, (_, i) => ({ id: `n${i}`, label: `Node ${i}` }));
    const edges = nodes.slice(1).map((n, i) => ({ from: `n${Math.floor(i / 3)}`, to: n.id }));
    const started = performance.now();
    const layout = layoutDag(nodes, edges);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(layout.nodes).toHaveLength(400);
    expect(layout.width).toBeGreaterThan(0);
  });
});

describe('comparing versions', () => {
  it('names changed fields, and items added, removed and changed by key', () => {
    const newer: StrategyDetail = {
      ...stored,
      name: 'Launch 2',
      version: 3,
      items: [
        { ...stored.items[1]!, dependsOn: [], input: { to: ['x@example.com', 'y@example.com'], subject: 's' } },
        { ...stored.items[0]!, key: 'c', id: 'l4_c' },
      ],
    };
    expect(diffVersions(stored, newer)).toEqual({
      fields: [{ field: 'name', before: 'Launch', after: 'Launch 2' }],
      added: [newer.items[1]],
      removed: [stored.items[0]],
      changed: [
        {
          key: 'b',
          changes: [
            { field: 'dependsOn', before: 'a', after: '—' },
            { field: 'input', before: '{"to":"x@example.com","subject":"s"}', after: '{"to":["x@example.com","y@example.com"],"subject":"s"}' },
          ],
        },
      ],
      parameters: { added: [], removed: [], changed: [], schema: [] },
    });
    expect(diffVersions(stored, stored)).toEqual({ fields: [], added: [], removed: [], changed: [], parameters: { added: [], removed: [], changed: [], schema: [] } });
  });
});
