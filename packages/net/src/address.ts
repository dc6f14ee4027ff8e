/**
 * Classifies IP addresses for the outbound-request guards (the research agent's fetch, webhook deliveries): which addresses an outbound
 * fetch must not reach (loopback, private, link-local, unspecified, CGNAT, cloud metadata,
 * multicast, reserved). IPv6 addresses that embed an IPv4 address (IPv4-mapped,
 * IPv4-compatible, NAT64, 6to4) are judged by the embedded address, so `::ffff:127.0.0.1`
 * is loopback like `127.0.0.1`.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Why an address is refused, or `public` when a fetch may reach it. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared' // 100.64.0.0/10, carrier-grade NAT (and Alibaba's metadata service 100.100.100.200)
  | 'metadata'
  | 'multicast'
  | 'reserved'
  | 'invalid';

interface V4Range {
  base: number;
  bits: number;
  kind: Exclude<AddressClass, 'public' | 'invalid'>;
}

const v4 = (dotted: string, bits: number, kind: V4Range['kind']): V4Range => {
  const n = parseIPv4(dotted);
  if (n === undefined) throw new Error(`bad range ${dotted}`);
  return { base: n, bits, kind };
};

// Most specific first: the first match wins.
const V4_RANGES: readonly V4Range[] = [
  v4('169.254.169.254', 32, 'metadata'), // AWS, GCP, Azure, OpenStack
  v4('100.100.100.200', 32, 'metadata'), // Alibaba Cloud
  v4('192.0.0.192', 32, 'metadata'), // Oracle Cloud
  v4('0.0.0.0', 8, 'unspecified'), // "this network"
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'shared'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'reserved'), // IETF protocol assignments
  v4('192.0.2.0', 24, 'reserved'), // TEST-NET-1
  v4('192.88.99.0', 24, 'reserved'), // 6to4 relay anycast
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'reserved'), // benchmarking
  v4('198.51.100.0', 24, 'reserved'), // TEST-NET-2
  v4('203.0.113.0', 24, 'reserved'), // TEST-NET-3
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved'), // including 255.255.255.255
];

/** Dotted-quad IPv4 to an unsigned 32-bit number; undefined unless exactly four decimal octets. */
export function parseIPv4(text: string): number | undefined {
  if (!isIPv4(text)) return undefined;
  const parts = text.split('.').map(Number);
  let n = 0;
  for (const part of parts) n = n * 256 + part;
  return n;
}

/** An IPv6 address (optionally with a zone id or a dotted IPv4 tail) to its eight 16-bit groups. */
export function parseIPv6(text: string): number[] | undefined {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  let head = bare;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (dotted?.[1]) {
    const n = parseIPv4(dotted[1]);
    if (n === undefined) return undefined;
    tail.push(n >>> 16, n & 0xffff);
    head = bare.slice(0, -dotted[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const toGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  let groups: number[];
  const gap = head.indexOf('::');
  if (gap >= 0) {
    const left = toGroups(head.slice(0, gap));
    const right = [...toGroups(head.slice(gap + 2)), ...tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    groups = [...toGroups(head), ...tail];
  }
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyV4(n: number): AddressClass {
  for (const r of V4_RANGES) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if (((n & mask) >>> 0) === ((r.base & mask) >>> 0)) return r.kind;
  }
  return 'public';
}

const embeddedV4 = (hi: number, lo: number): number => ((hi << 16) >>> 0) + lo;

function classifyV6(g: number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const firstSixZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstSixZero && g5 === 0) {
    if (g6 === 0 && g7 === 0) return 'unspecified'; // ::
    if (g6 === 0 && g7 === 1) return 'loopback'; // ::1
    return classifyV4(embeddedV4(g6, g7)); // IPv4-compatible ::a.b.c.d (deprecated)
  }
  if (firstSixZero && g5 === 0xffff) return classifyV4(embeddedV4(g6, g7)); // IPv4-mapped ::ffff:a.b.c.d
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return classifyV4(embeddedV4(g6, g7)); // IPv4-translated
  if (g0 === 0x64 && g1 === 0xff9b) {
    // NAT64: 64:ff9b::/96 (well-known) and 64:ff9b:1::/48 (local use)
    if (g2 === 1) return 'private';
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyV4(embeddedV4(g6, g7));
  }
  if (g0 === 0x2002) return classifyV4(embeddedV4(g1, g2)); // 6to4 2002:a.b.c.d::/48
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 0x254) return 'metadata'; // AWS IMDS over IPv6
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return 'multicast'; // ff00::/8
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return 'reserved'; // 100::/64 discard
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved'; // documentation
  if (g0 === 0x2001 && g1 < 0x0200) return 'reserved'; // 2001::/23 IETF protocol assignments (incl. Teredo 2001::/32)
  return 'public';
}

/** The class of an IP address literal (IPv4, IPv6, bracketed IPv6, IPv6 with zone id). */
export function classifyAddress(address: string): AddressClass {
  const n = parseIPv4(address);
  if (n !== undefined) return classifyV4(n);
  const groups = parseIPv6(address);
  if (groups) return classifyV6(groups);
  return 'invalid';
}

/** True when an outbound fetch may connect to this address without an allow-list entry. */
export const isPublicAddress = (address: string): boolean => classifyAddress(address) === 'public';

/**
 * A canonical spelling for comparing hosts: lower case, brackets and IPv6 zone dropped, IPv6
 * groups in full hex so `::1` and `0:0:0:0:0:0:0:1` compare equal; names keep their form
 * without a trailing dot.
 */
export function canonicalHost(host: string): string {
  const lower = host.trim().toLowerCase().replace(/\.$/, '');
  const groups = parseIPv6(lower);
  if (groups) return groups.map((g) => g.toString(16)).join(':');
  return lower.replace(/^\[|\]$/g, '');
}

/**
 * The allow-list as a set of canonical hosts. Entries are host names or addresses; a port
 * on an entry (`host:8080`, `[::1]:8080`) is ignored, since an entry allows any port.
 */
export function allowListSet(entries: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const raw of entries) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
    if (bracketed?.[1]) entry = bracketed[1];
    else if (!isIPv6(entry)) entry = entry.replace(/:\d+$/, '');
    out.add(canonicalHost(entry));
  }
  return out;
}
