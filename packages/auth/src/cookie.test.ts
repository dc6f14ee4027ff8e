import { describe, expect, it } from 'vitest';
import { clearSessionCookieHeader, readSessionCookie, sessionCookieHeader } from './cookie.ts';

describe('session cookie', () => {
  it('reads strata_session from a Cookie header among others', () => {
    expect(readSessionCookie('theme=dark; strata_session=abc234; other=1')).toBe('abc234');
    expect(readSessionCookie('strata_session=xyz')).toBe('xyz');
  });

  it('answers null when it is missing or empty', () => {
    expect(readSessionCookie(null)).toBeNull();
    expect(readSessionCookie('')).toBeNull();
    expect(readSessionCookie('not_strata_session=abc')).toBeNull();
    expect(readSessionCookie('strata_session=')).toBeNull();
  });

  it('sets an HttpOnly, Lax, Secure cookie that expires with the session', () => {
    const expires = new Date('2030-01-02T03:04:05Z');
    expect(sessionCookieHeader('tok', expires)).toBe(
      'strata_session=tok; Path=/; HttpOnly; SameSite=Lax; Secure; Expires=Wed, 02 Jan 2030 03:04:05 GMT',
    );
    expect(sessionCookieHeader('tok', expires, { secure: false })).not.toContain('Secure');
    expect(clearSessionCookieHeader()).toBe('strata_session=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0');
  });
});
