import { describe, expect, it } from 'vitest';
import { encodeWithRaw, RawJson, stringifyWithRaw } from './raw-json.ts';

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

describe('encodeWithRaw', () => {
  it('gives the bytes of stringifyWithRaw, raw parts given as text or as bytes', () => {
    const body = { a: 'é ✓', tasks: new RawJson(Buffer.from('[{"d":"naïve ✓"}]')), more: [new RawJson('{"x":1}'), 'tail'] };
    const bytes = encodeWithRaw(body);
    expect(bytes.toString('utf8')).toBe(stringifyWithRaw(body));
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ a: 'é ✓', tasks: [{ d: 'naïve ✓' }], more: [{ x: 1 }, 'tail'] });
  });

  it('is the UTF-8 of JSON.stringify without raw parts', () => {
    expect(encodeWithRaw({ a: ['ü'] }).equals(Buffer.from(JSON.stringify({ a: ['ü'] })))).toBe(true);
  });
});
