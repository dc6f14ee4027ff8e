import { describe, expect, it } from 'vitest';
import { requestIdOf } from './request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestIdOf', () => {
  it.each(['abc', 'f47ac10b-58cc-4372-a567-0e02b2c3d479', '01HZX3J8Q4R5', 'Root=1-67891233-abcdef012345678912345678', 'a'.repeat(128), 'x_y.z:1/2+3@4'])(
    'keeps a sane id: %s',
    (id) => {
      expect(requestIdOf(id)).toBe(id);
    },
  );

  it('takes the first of repeated headers', () => {
    expect(requestIdOf(['first-id', 'second-id'])).toBe('first-id');
  });

  it.each([undefined, null, '', 'a'.repeat(129), 'has space', 'quote"d', 'new\nline', 'tab\t', 'ünïcode', '<script>', 'semi;colon'])('replaces %j with a new UUID', (header) => {
    const id = requestIdOf(header);
    expect(id).toMatch(UUID);
    expect(requestIdOf(header)).not.toBe(id);
  });
});
