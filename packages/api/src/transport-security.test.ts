import { describe, expect, it } from 'vitest';
import { isHttpsRequest, NON_PAGE_CSP, securityHeaders } from './transport-security.ts';

describe('isHttpsRequest', () => {
  it('is true for every request when ORIGIN is https', () => {
    expect(isHttpsRequest(null, { origin: 'https://strata.example.com' })).toBe(true);
    expect(isHttpsRequest('http', { origin: 'HTTPS://strata.example.com' })).toBe(true);
  });

  it('believes X-Forwarded-Proto only from a trusted proxy, and reads the first hop', () => {
    expect(isHttpsRequest('https', { trustProxy: true })).toBe(true);
    expect(isHttpsRequest('HTTPS , http', { trustProxy: true })).toBe(true);
    expect(isHttpsRequest('http, https', { trustProxy: true })).toBe(false);
    expect(isHttpsRequest('https', { trustProxy: false })).toBe(false);
    expect(isHttpsRequest('https', {})).toBe(false);
    expect(isHttpsRequest(null, { trustProxy: true, origin: 'http://localhost:3008' })).toBe(false);
  });
});

describe('securityHeaders', () => {
  it('sends HSTS only over HTTPS, and the rest always', () => {
    const plain = new Map(securityHeaders(false));
    expect(plain.get('content-security-policy')).toBe(NON_PAGE_CSP);
    expect(plain.get('x-content-type-options')).toBe('nosniff');
    expect(plain.get('x-frame-options')).toBe('DENY');
    expect(plain.has('strict-transport-security')).toBe(false);
    expect(new Map(securityHeaders(true)).get('strict-transport-security')).toMatch(/^max-age=\d{8}/);
  });
});
