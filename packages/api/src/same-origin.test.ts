import { describe, expect, it } from 'vitest';
import { checkSameOrigin } from './same-origin.ts';

const h = (init: Record<string, string>) => new Headers(init);

describe('checkSameOrigin', () => {
  it('lets safe methods through whatever their origin', () => {
    expect(checkSameOrigin('GET', h({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).ok).toBe(true);
  });

  it('never refuses a request that carries its own Authorization header', () => {
    expect(checkSameOrigin('POST', h({ authorization: 'Bearer x', origin: 'https://evil.example' })).ok).toBe(true);
  });

  it('judges by Sec-Fetch-Site when the browser sends it', () => {
    expect(checkSameOrigin('POST', h({ 'sec-fetch-site': 'same-origin', host: 'a' })).ok).toBe(true);
    expect(checkSameOrigin('POST', h({ 'sec-fetch-site': 'none' })).ok).toBe(true);
    expect(checkSameOrigin('POST', h({ 'sec-fetch-site': 'same-site', origin: 'http://a' , host: 'a' })).ok).toBe(false);
    expect(checkSameOrigin('DELETE', h({ 'sec-fetch-site': 'cross-site' })).ok).toBe(false);
  });

  it('else compares Origin with the Host header, or with ORIGIN when it is set', () => {
    expect(checkSameOrigin('POST', h({ origin: 'http://localhost:3008', host: 'localhost:3008' })).ok).toBe(true);
    expect(checkSameOrigin('POST', h({ origin: 'https://evil.example', host: 'localhost:3008' }))).toEqual({ ok: false, reason: 'Cross-site request refused (Origin does not match)' });
    expect(checkSameOrigin('POST', h({ origin: 'null', host: 'localhost:3008' })).ok).toBe(false);
    expect(checkSameOrigin('POST', h({ origin: 'not a url', host: 'localhost:3008' })).ok).toBe(false);
    expect(checkSameOrigin('POST', h({ origin: 'https://app.example', host: 'internal:3008' }), { origin: 'https://app.example' }).ok).toBe(true);
    expect(checkSameOrigin('POST', h({ origin: 'http://app.example', host: 'app.example' }), { origin: 'https://app.example' }).ok).toBe(false);
  });

  it('lets a request with neither header through: it did not come from a browser page', () => {
    expect(checkSameOrigin('POST', h({ host: 'localhost:3008' })).ok).toBe(true);
  });
});
