import { describe, expect, it } from 'vitest';
import { dependencyScope, escapeHtml, fillTemplate, htmlToText, placeholders, TemplateError } from './template.ts';

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
