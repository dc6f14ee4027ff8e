import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.ts';

describe('the client address', () => {
  it('is the socket peer, whatever X-Forwarded-For claims, unless the proxy is trusted', () => {
    expect(clientAddress({ remoteAddress: '192.0.2.10', forwardedFor: '203.0.113.1', trustProxy: false })).toBe('192.0.2.10');
    expect(clientAddress({ remoteAddress: '192.0.2.10', forwardedFor: null, trustProxy: true })).toBe('192.0.2.10');
  });

  it('behind a trusted proxy is the last X-Forwarded-For entry: the one the proxy appended', () => {
    expect(clientAddress({ remoteAddress: '10.0.0.2', forwardedFor: '203.0.113.1', trustProxy: true })).toBe('203.0.113.1');
    expect(clientAddress({ remoteAddress: '10.0.0.2', forwardedFor: '1.2.3.4, 203.0.113.1', trustProxy: true })).toBe('203.0.113.1');
    expect(clientAddress({ remoteAddress: '10.0.0.2', forwardedFor: 'spoofed,2001:db8::1 ', trustProxy: true })).toBe('2001:db8::1');
  });

  it('falls back to the peer when the forwarded entry is not an address', () => {
    expect(clientAddress({ remoteAddress: '10.0.0.2', forwardedFor: '203.0.113.1, unknown', trustProxy: true })).toBe('10.0.0.2');
    expect(clientAddress({ remoteAddress: undefined, forwardedFor: '', trustProxy: true })).toBeNull();
  });
});
