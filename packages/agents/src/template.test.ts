import { describe, expect, it } from 'vitest';
import { dependencyScope, escapeHtml, fillTemplate, htmlToText, placeholders, TemplateError } from './template.ts';
import { coordinationAgent } from './coordination.ts';
import { agentContext, cpuMs, expectLinearTime } from './testing.ts';

const scope = {
  variables: [{ name: 'Ann', team: { lead: 'Bob' }, tags: ['a', 'b'], nothing: null }, { name: 'ignored', extra: 42 }],
  deps: dependencyScope([
    { taskId: 't1', key: 'research', agentType: 'research', result: { pages: [{ title: 'First' }, { title: 'Second' }], ok: true } },
    { taskId: 't2', key: 'stats.q3', agentType: 'analysis', result: { mean: 1.5, row: { a: 1 } } },
    { taskId: 't3', key: 'stats', agentType: 'analysis', result: { mean: 9 } },
  ]),
};

describe('fillTemplate', () => {
  it('fills variables, nested paths and dependency results', () => {
    expect(fillTemplate('Hi {{name}} and {{ team.lead }} ({{tags}}), {{extra}}{{nothing}}', scope)).toBe('Hi Ann and Bob (a, b), 42');
    expect(fillTemplate('{{deps.research.pages.1.title}} {{deps.research.ok}}', scope)).toBe('Second true');
    expect(fillTemplate('{{deps.stats.q3.mean}} {{deps.stats.mean}}', scope)).toBe('1.5 9');
    expect(fillTemplate('{{deps.stats.q3.row}}', scope)).toBe('{\n  "a": 1\n}');
  });

  it("fills {{input.<path>}} from the execution's input, whatever the variables hold", () => {
    const withInput = { ...scope, variables: [{ input: { shadow: 'no' } }], input: { customer: { name: 'Ann' }, tags: ['x', 'y'] } };
    expect(fillTemplate('{{input.customer.name}} {{input.tags}} {{input.tags.1}}', withInput)).toBe('Ann x, y y');
    expect(() => fillTemplate('{{input.shadow}}', withInput)).toThrow(/Unknown template placeholder \{\{input\.shadow\}\}/);
    expect(() => fillTemplate('{{input.customer}}', { variables: [], deps: {} })).toThrow(TemplateError);
  });

  it('escapes inserted values only', () => {
    expect(fillTemplate('<b>{{v}}</b>', { variables: [{ v: '<i>&' }], deps: {} }, { escape: escapeHtml })).toBe('<b>&lt;i&gt;&amp;</b>');
  });

  it('names every unknown placeholder', () => {
    const error = (() => {
      try {
        fillTemplate('{{who}} {{deps.research.pages.5.title}} {{who}} {{deps.missing}}', scope);
      } catch (e) {
        return e as TemplateError;
      }
      throw new Error('expected a TemplateError');
    })();
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.unknown).toEqual(['who', 'deps.research.pages.5.title', 'deps.missing']);
    expect(error.message).toMatch(/\{\{who\}\}, \{\{deps\.research\.pages\.5\.title\}\}, \{\{deps\.missing\}\}/);
    expect(error.message).toMatch(/dependencies: research, stats\.q3, stats/);
  });

  it('reads a coordination result by reference, and says how to reach what it names', async () => {
    const { ctx } = agentContext({
      input: {},
      task: { key: 'wrap', agentType: 'coordination' },
      dependencies: [{ taskId: 'task_e', key: 'email', agentType: 'email', result: { delivered: 'outbox', subject: 'Hi' } }],
    });
    const wrap = await coordinationAgent({ config: {} as never, db: undefined as never }).run(ctx);
    const through = { variables: [], deps: dependencyScope([{ taskId: 'task_w', key: 'wrap', agentType: 'coordination', result: wrap }]) };
    expect(fillTemplate('{{deps.wrap.dependencies.0.key}}: {{deps.wrap.dependencies.0.summary}} ({{deps.wrap.dependencies.0.resultBytes}} bytes)', through)).toBe(
      'email: object with keys: delivered, subject (37 bytes)',
    );
    expect(() => fillTemplate('{{deps.wrap.merged.email.subject}}', through)).toThrow(
      'Unknown template placeholder {{deps.wrap.merged.email.subject}}: not found in variables, the item input, the execution input or dependency results ' +
        '(dependencies: wrap; "wrap" is a coordination task: its result names its dependencies (key, taskId, resultBytes, summary) ' +
        'without copying their results, so add the task you read from to dependsOn)',
    );
  });

  it('refuses malformed placeholders', () => {
    expect(() => fillTemplate('{{ }} and {{a b}}', scope)).toThrow(/Invalid placeholders \{\{ \}\}, \{\{a b\}\}/);
  });

  it('lists placeholders', () => {
    expect(placeholders('{{a}} {{ deps.x.y }} {{a}}')).toEqual(['a', 'deps.x.y']);
  });
});

describe('htmlToText', () => {
  it('keeps the structure readable', () => {
    expect(htmlToText('<style>p{}</style><h1>T</h1><ul><li>one</li><li>two &amp; three</li></ul><p>x<br>y</p>')).toBe('T\n\n- one\n- two & three\n\nx\ny');
  });
});

describe('adversarial templates run in linear time', () => {
  const repeat = (unit: string) => (size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  const big = { variables: [{ a: 'A' }], deps: dependencyScope([{ taskId: 't', key: 'x', agentType: 'research', result: { text: 'y'.repeat(100_000) } }]) };
  const inputs: [string, (size: number) => string][] = [
    ['{{ and spaces (5 s for 3 KB before)', (size) => `{{${' '.repeat(size - 2)}`],
    ['{{ repeated', repeat('{{')],
    ['{{{ repeated', repeat('{{{ a')],
    ['an unclosed name', (size) => `{{${'a'.repeat(size - 2)}`],
    ['single closing braces', repeat('{{a}')],
    ['valid placeholders', repeat('{{a}} ')],
    ['distinct invalid placeholders', (size) => Array.from({ length: Math.ceil(size / 12) }, (_, i) => `{{a ${i}}}`).join('').slice(0, size)],
    ['a long dependency path', (size) => `{{deps.${'x.'.repeat((size - 10) / 2)}}}`],
    ['a large result repeated', repeat('{{deps.x}}')],
  ];
  for (const [name, make] of inputs) {
    it(`fillTemplate and placeholders: ${name}`, () => {
      expectLinearTime(make, (template) => fillTemplate(template, big));
      expectLinearTime(make, placeholders);
    });
  }

  it('caps the filled text, naming the limit', () => {
    expect(() => fillTemplate('{{deps.x}}'.repeat(30), big)).toThrow('The filled template is longer than 2,000,000 characters');
    expect(fillTemplate('{{a}}{{a}}', big, { maxChars: 2 })).toBe('AA');
    expect(() => fillTemplate('{{a}}{{a}}!', big, { maxChars: 2 })).toThrow(TemplateError);
  });

  it('names at most ten bad placeholders', () => {
    const template = Array.from({ length: 1000 }, (_, i) => `{{a ${i}}}`).join('');
    expect(() => fillTemplate(template, scope)).toThrow(/^Invalid placeholders \{\{a 0\}\}, .*\{\{a 9\}\} and 990 more: use/);
  });

  it('indents small objects and keeps large or deeply nested ones compact', () => {
    const nested = JSON.parse(`${'['.repeat(1000)}1${']'.repeat(1000)}`) as unknown;
    const deep = { variables: [{ nested }], deps: {} };
    expect(cpuMs(() => fillTemplate('{{nested}}', deep))).toBeLessThan(500);
    expect(fillTemplate('{{nested}}', deep)).toBe(JSON.stringify(nested));
  });
});

describe('htmlToText', () => {
  it('turns links into "label (href)", or the bare address when the label is it', () => {
    expect(htmlToText('<p>See <a href="https://x.example/a?b=1&amp;c=2">the <b>docs</b></a> or <a href=\'https://y.example\'> https://y.example </a></p>')).toBe(
      'See the docs (https://x.example/a?b=1&c=2) or https://y.example',
    );
  });

  it('drops scripts, styles and the head, even unclosed', () => {
    expect(htmlToText('<html><head><title>T</title></head><body>a<script>x</script>b<style>y</style>c<script>never closed')).toBe('abc');
    expect(htmlToText('<head><title>T</title><body>after a head left open')).toBe('after a head left open');
  });

  it('keeps at most one empty line and no trailing spaces', () => {
    expect(htmlToText('<p>a   </p>\n\n\n\n<p>b&nbsp;</p><div>\t</div>c')).toBe('a\n\nb\n\nc');
  });

  const inputs: [string, (size: number) => string][] = [
    ['<a href=" repeated', (size) => '<a href="'.repeat(Math.ceil(size / 9))],
    ['nested links', (size) => `${'<a href="x">y'.repeat(Math.ceil(size / 13))}${'</a>'.repeat(10)}`],
    ['<script without a close', (size) => '<script '.repeat(Math.ceil(size / 8))],
    ['<script> repeated', (size) => '<script>'.repeat(Math.ceil(size / 8))],
    ['< repeated', (size) => '<'.repeat(size)],
    ['spaces before no line break', (size) => `${' '.repeat(size)}x`],
    ['line breaks', (size) => '\n'.repeat(size)],
    ['block tags', (size) => '<p><li><br>'.repeat(Math.ceil(size / 11))],
  ];
  for (const [name, make] of inputs) {
    it(`runs in linear time: ${name}`, () => {
      expectLinearTime(make, htmlToText);
    });
  }
});
