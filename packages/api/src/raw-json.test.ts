import { describe, expect, it } from 'vitest';
import { RawJson, stringifyWithRaw } from './raw-json.ts';

describe('stringifyWithRaw', () => {
  it('splices raw JSON text in place and leaves the rest to JSON.stringify', () => {
    const body = { a: 1, tasks: new RawJson('[{"id":"t1","x":"\\"quoted\\""}]'), b: 'text with "quotes"' };
    const text = stringifyWithRaw(body);
    expect(JSON.parse(text)).toEqual({ a: 1, tasks: [{ id: 't1', x: '"quoted"' }], b: 'text with "quotes"' });
  });

  it('is plain JSON.stringify without raw parts', () => {
    expect(stringifyWithRaw({ a: [1, 'x'] })).toBe(JSON.stringify({ a: [1, 'x'] }));
  });

  it('does not confuse user strings that look like markers', () => {
    const text = stringifyWithRaw({ s: '\u0000raw0:0', r: new RawJson('[]') });
    expect(JSON.parse(text)).toEqual({ s: '\u0000raw0:0', r: [] });
  });
});
