import { describe, expect, it } from 'vitest';
import { checkConcurrencyKey, KEY_MAX_CHARS, resolveConcurrencyKey } from './key.ts';

describe('concurrency keys', () => {
  it('reads the item input, nested paths and array indexes, and keeps the text around placeholders', () => {
    const input = { to: 'Ann@example.com', customer: { id: 42 }, tags: ['a', 'b'], pages: [{ id: 'p1' }] };
    expect(resolveConcurrencyKey('{{to}}', input, {})).toEqual({ key: 'Ann@example.com' });
    expect(resolveConcurrencyKey('customer-{{ customer.id }}', input, {})).toEqual({ key: 'customer-42' });
    expect(resolveConcurrencyKey('{{tags}}/{{pages.0.id}}', input, {})).toEqual({ key: 'a, b/p1' });
    expect(resolveConcurrencyKey('smtp-relay', {}, {})).toEqual({ key: 'smtp-relay' });
  });

  it('reads the execution input, directly or through an item value that is exactly {{input.<path>}}', () => {
    const parameters = { recipient: 'bob@example.com', site: 'https://Docs.Example.org:8443/a?b=c' };
    expect(resolveConcurrencyKey('{{input.recipient}}', {}, parameters)).toEqual({ key: 'bob@example.com' });
    expect(resolveConcurrencyKey('{{to}}', { to: '{{input.recipient}}' }, parameters)).toEqual({ key: 'bob@example.com' });
    expect(resolveConcurrencyKey('{{url.host}}', { url: '{{ input.site }}' }, parameters)).toEqual({ key: 'docs.example.org' });
  });

  it('takes .host of a URL string as its lower-case host name without port, user or path', () => {
    expect(resolveConcurrencyKey('{{url.host}}', { url: 'https://user:pw@API.Example.com:8443/v1/x' }, {})).toEqual({ key: 'api.example.com' });
    expect(resolveConcurrencyKey('{{url.host}}', { url: 'https://bücher.example/' }, {})).toEqual({ key: 'xn--bcher-kva.example' });
    expect(resolveConcurrencyKey('{{url.host}}', { url: { host: 'from-an-object' } }, {})).toEqual({ key: 'from-an-object' });
    expect(resolveConcurrencyKey('{{url.host}}', { url: 'not a url' }, {})).toEqual({ error: "{{url.host}} has no value in the item's input" });
    expect(resolveConcurrencyKey('{{url.host}}', { url: 'mailto:someone@example.com' }, {})).toEqual({ error: "{{url.host}} has no value in the item's input" });
  });

  it('refuses what has no value: a missing field, null, an object, an empty result, one that is too long', () => {
    expect(resolveConcurrencyKey('{{input.customer}}', {}, {})).toEqual({ error: "{{input.customer}} has no value in the execution's input" });
    expect(resolveConcurrencyKey('{{to}}', { to: null }, {})).toEqual({ error: "{{to}} has no value in the item's input" });
    expect(resolveConcurrencyKey('{{to}}', { to: { a: 1 } }, {})).toEqual({ error: "{{to}} has no value in the item's input" });
    expect(resolveConcurrencyKey('{{to}}', { to: '  ' }, {})).toEqual({ error: 'resolves to an empty key' });
    expect(resolveConcurrencyKey('{{to}}', { to: 'x'.repeat(KEY_MAX_CHARS + 1) }, {})).toEqual({ error: `resolves to more than ${KEY_MAX_CHARS} characters` });
  });

  it('is checked when saved: syntax, dependencies, the item input (the execution input is left for the start)', () => {
    expect(checkConcurrencyKey('{{to}}', { to: 'a@example.com' })).toBeUndefined();
    expect(checkConcurrencyKey('{{input.customer}}', {})).toBeUndefined();
    expect(checkConcurrencyKey('{{to}}', { to: '{{input.recipient}}' })).toBeUndefined();
    expect(checkConcurrencyKey('{{url.host}}', { url: '{{input.site}}' })).toBeUndefined();
    expect(checkConcurrencyKey('{{to}}', {})).toBe("{{to}} has no value in the item's input");
    expect(checkConcurrencyKey('{{deps.fetch.url}}', {})).toMatch(/dependencies' results are not known/);
    expect(checkConcurrencyKey('{{input}}', {})).toMatch(/whole execution input/);
    expect(checkConcurrencyKey('{{a b}}', {})).toMatch(/is not a placeholder/);
    expect(checkConcurrencyKey(' ', {})).toBe('must not be empty');
  });

  it('stays linear on hostile templates', () => {
    const template = '{{ {{a'.repeat(100_000);
    const started = performance.now();
    expect(resolveConcurrencyKey(template, {}, {})).toEqual({ error: `resolves to more than ${KEY_MAX_CHARS} characters` });
    expect(checkConcurrencyKey(template, {})).toBe('at most 200 characters');
    expect(performance.now() - started).toBeLessThan(500);
  });
});
