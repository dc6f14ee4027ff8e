import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { allowListSet } from './address.ts';
import { isAddressLiteral, pinnedLookup, refusedAddress, refusedAsWritten } from './guard.ts';

const none = allowListSet([]);

describe('refusedAsWritten: what a URL host says before any lookup', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['[::1]', 'loopback'],
    ['localhost', 'loopback'],
    ['api.localhost', 'loopback'],
    ['10.1.2.3', 'private'],
    ['169.254.169.254', 'metadata'],
    ['8.8.8.8', undefined],
    ['hooks.example.com', undefined],
  ])('%s → %s', (host, kind) => {
    expect(refusedAsWritten(host, none)).toBe(kind);
  });

  it('lets a host on the allow-list through, however it is written', () => {
    expect(refusedAsWritten('LocalHost', allowListSet(['localhost:3000']))).toBeUndefined();
    expect(refusedAsWritten('[0:0::1]', allowListSet(['::1']))).toBeUndefined();
  });
});

describe('refusedAddress: a host and what it resolved to', () => {
  it('refuses when any resolved address is not public, naming its class', () => {
    expect(refusedAddress('hooks.example.com', [{ address: '93.184.216.34' }], none)).toBeUndefined();
    expect(refusedAddress('rebind.example.com', [{ address: '93.184.216.34' }, { address: '10.0.0.7' }], none)).toBe('private');
    expect(refusedAddress('meta.example.com', [{ address: '::ffff:169.254.169.254' }], none)).toBe('metadata');
  });

  it('allows a listed host wherever it resolves, or a listed address', () => {
    expect(refusedAddress('hooks.internal', [{ address: '10.0.0.7' }], allowListSet(['hooks.internal']))).toBeUndefined();
    expect(refusedAddress('hooks.internal', [{ address: '10.0.0.7' }], allowListSet(['10.0.0.7']))).toBeUndefined();
    expect(refusedAddress('hooks.internal', [{ address: '10.0.0.7' }, { address: '10.0.0.8' }], allowListSet(['10.0.0.7']))).toBe('private');
  });
});

describe('isAddressLiteral', () => {
  it('tells addresses from names', () => {
    expect(['1.2.3.4', '::1', '[2001:db8::1]'].map(isAddressLiteral)).toEqual([true, true, true]);
    expect(['example.com', 'localhost', '1.2.3'].map(isAddressLiteral)).toEqual([false, false, false]);
  });
});

describe('pinnedLookup: the socket gets only the vetted addresses', () => {
  const vetted: LookupAddress[] = [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ];
  const lookup = (opts: { family?: number | string; all?: boolean }) =>
    new Promise<unknown[]>((resolve) => (pinnedLookup(vetted) as unknown as (h: string, o: typeof opts, cb: (...args: unknown[]) => void) => void)('ignored.example', opts, (...args) => resolve(args)));

  it('answers the first vetted address of the family asked for, whatever the name', async () => {
    expect(await lookup({})).toEqual([null, '93.184.216.34', 4]);
    expect(await lookup({ family: 6 })).toEqual([null, '2606:2800:220:1::1', 6]);
    expect(await lookup({ family: 'IPv4' })).toEqual([null, '93.184.216.34', 4]);
    expect(await lookup({ all: true })).toEqual([null, vetted]);
  });

  it('fails with ENOTFOUND when no vetted address has that family', async () => {
    const [error] = (await new Promise<unknown[]>((resolve) =>
      (pinnedLookup([vetted[0]!]) as unknown as (h: string, o: object, cb: (...args: unknown[]) => void) => void)('x', { family: 6 }, (...args) => resolve(args)),
    )) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ENOTFOUND');
  });
});
