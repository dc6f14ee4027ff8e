import { describe, expect, it } from 'vitest';
import { isLoopbackHost, planDemo } from './demo-policy.ts';

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'strata.example.com', '127.0.0.1.example.com', 'localhost.example.com', '1127.0.0.1'])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('planDemo (issue 9, finding 8)', () => {
  it('creates the demo account with the public default password only on loopback', () => {
    const plan = planDemo({ HOST: '127.0.0.1', STRATA_DEMO: true, STRATA_DEMO_PASSWORD: undefined });
    expect(plan).toEqual({ create: true, password: 'strata-demo', announcement: expect.stringContaining('demo@strata.local / strata-demo') });
  });

  it('creates none on a public interface without a password of the operator, and says why and how', () => {
    const plan = planDemo({ HOST: '0.0.0.0', STRATA_DEMO: true, STRATA_DEMO_PASSWORD: undefined });
    expect(plan.create).toBe(false);
    if (plan.create || 'refused' in plan) throw new Error('expected a reason, not a refusal');
    expect(plan.reason).toContain('HOST=0.0.0.0');
    expect(plan.reason).toContain('STRATA_DEMO_PASSWORD');
  });

  it('creates it anywhere with STRATA_DEMO_PASSWORD, without printing that password', () => {
    const plan = planDemo({ HOST: '0.0.0.0', STRATA_DEMO: true, STRATA_DEMO_PASSWORD: 'a chosen secret' });
    expect(plan).toEqual({ create: true, password: 'a chosen secret', announcement: expect.stringContaining('STRATA_DEMO_PASSWORD') });
    if (plan.create) expect(plan.announcement).not.toContain('a chosen secret');
  });

  it('does nothing, silently, with STRATA_DEMO=false', () => {
    expect(planDemo({ HOST: '0.0.0.0', STRATA_DEMO: false, STRATA_DEMO_PASSWORD: undefined })).toEqual({ create: false, reason: null });
  });

  it('refuses a STRATA_DEMO_PASSWORD that fails the password policy, saying why', () => {
    expect(planDemo({ HOST: '0.0.0.0', STRATA_DEMO: true, STRATA_DEMO_PASSWORD: 'password1' })).toEqual({
      create: false,
      refused: 'STRATA_DEMO_PASSWORD is refused: this password is too common',
    });
    expect(planDemo({ HOST: '127.0.0.1', STRATA_DEMO: true, STRATA_DEMO_PASSWORD: '        ' })).toMatchObject({ create: false, refused: expect.stringContaining('STRATA_DEMO_PASSWORD is refused') });
  });
});
