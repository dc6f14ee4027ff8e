/**
 * The address guard shared by every outbound request to a user-supplied URL (the research
 * agent's fetch, webhook deliveries): which resolved addresses a request may not reach, and a
 * socket lookup that connects only to the addresses that were checked.
 */
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { type AddressClass, canonicalHost, classifyAddress, parseIPv4, parseIPv6 } from './address.ts';

/** True when the host is written as an IP address (IPv4, IPv6, bracketed IPv6). */
export const isAddressLiteral = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '');
  return parseIPv4(bare) !== undefined || parseIPv6(bare) !== undefined;
};

/**
 * Why a request to `host`, resolved to `addresses`, is refused, or undefined when it may go: a
 * host on the allow-list goes wherever it resolves; otherwise every address must be public or
 * itself on the allow-list.
 */
export function refusedAddress(host: string, addresses: readonly Pick<LookupAddress, 'address'>[], allowHosts: ReadonlySet<string>): AddressClass | undefined {
  if (allowHosts.has(canonicalHost(host))) return undefined;
  for (const { address } of addresses) {
    const kind = classifyAddress(address);
    if (kind !== 'public' && !allowHosts.has(canonicalHost(address))) return kind;
  }
  return undefined;
}

/**
 * What can be judged from a URL's host as written, before any DNS lookup: an address literal by
 * its class, `localhost` (and `*.localhost`, which resolvers send to loopback) as loopback; a
 * host on the allow-list passes. Undefined: nothing refuses it yet (a name is judged again where it resolves).
 */
export function refusedAsWritten(host: string, allowHosts: ReadonlySet<string>): AddressClass | undefined {
  const canonical = canonicalHost(host);
  if (allowHosts.has(canonical)) return undefined;
  if (isAddressLiteral(host)) {
    const kind = classifyAddress(host);
    return kind === 'public' ? undefined : kind;
  }
  return canonical === 'localhost' || canonical.endsWith('.localhost') ? 'loopback' : undefined;
}

/**
 * A `lookup` for http(s).request that hands the socket exactly the vetted addresses, whatever the
 * resolver would say now: a DNS answer that changes between check and connect (DNS rebinding)
 * cannot swap in another address.
 */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return ((_hostname: string, opts: { family?: number | string; all?: boolean }, callback: (...args: unknown[]) => void) => {
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const list = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : [...addresses];
    const first = list[0];
    if (!first) {
      callback(Object.assign(new Error(`No vetted address of family ${family}`), { code: 'ENOTFOUND' }));
      return;
    }
    if (opts.all) callback(null, list);
    else callback(null, first.address, first.family);
  }) as unknown as LookupFunction;
}
