import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyAddress, type AddressClass } from '../../shared/domain/address-class';

/**
 * The reference: the IANA IPv4 and IPv6 Special-Purpose Address Registries (iana-ipv4-special-registry,
 * iana-ipv6-special-registry, as updated in 2025), row by row with the registry's names and its
 * "Globally Reachable" column, plus multicast (its own registry), the IPv6 Address Space registry's
 * site-local block and the IPv4-compatible form (RFC 4291 §2.5.5.1). Written here as data, matched with
 * BigInt arithmetic: nothing is shared with the classifier or ipaddr.js.
 *
 * What the guard must answer for an address: the most specific row holding it decides. Globally
 * reachable → `public`; not → its class (`kind`), never public. A row with `carries` holds IPv4
 * addresses: the first non-public one carried decides, else `otherwise`.
 */
interface Row {
  block: string;
  name: string;
  rfc: string;
  reachable: boolean | 'N/A';
  /** The class when not globally reachable. */
  kind?: AddressClass;
  carries?: (a: bigint) => bigint[];
  otherwise?: AddressClass;
}

const low32 = (a: bigint) => [a & 0xffffffffn];
const IPV4_REGISTRY: Row[] = [
  { block: '0.0.0.0/8', name: '"This network"', rfc: 'RFC 791', reachable: false, kind: 'unspecified' },
  { block: '0.0.0.0/32', name: '"This host on this network"', rfc: 'RFC 1122', reachable: false, kind: 'unspecified' },
  { block: '10.0.0.0/8', name: 'Private-Use', rfc: 'RFC 1918', reachable: false, kind: 'private' },
  { block: '100.64.0.0/10', name: 'Shared Address Space', rfc: 'RFC 6598', reachable: false, kind: 'private' },
  { block: '127.0.0.0/8', name: 'Loopback', rfc: 'RFC 1122', reachable: false, kind: 'loopback' },
  { block: '169.254.0.0/16', name: 'Link Local', rfc: 'RFC 3927', reachable: false, kind: 'link-local' },
  { block: '172.16.0.0/12', name: 'Private-Use', rfc: 'RFC 1918', reachable: false, kind: 'private' },
  { block: '192.0.0.0/24', name: 'IETF Protocol Assignments', rfc: 'RFC 6890', reachable: false, kind: 'reserved' },
  { block: '192.0.0.0/29', name: 'IPv4 Service Continuity Prefix', rfc: 'RFC 7335', reachable: false, kind: 'reserved' },
  { block: '192.0.0.8/32', name: 'IPv4 dummy address', rfc: 'RFC 7600', reachable: false, kind: 'reserved' },
  { block: '192.0.0.9/32', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', reachable: true },
  { block: '192.0.0.10/32', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', reachable: true },
  { block: '192.0.0.170/32', name: 'NAT64/DNS64 Discovery', rfc: 'RFC 8880', reachable: false, kind: 'reserved' },
  { block: '192.0.0.171/32', name: 'NAT64/DNS64 Discovery', rfc: 'RFC 8880', reachable: false, kind: 'reserved' },
  { block: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', rfc: 'RFC 5737', reachable: false, kind: 'reserved' },
  { block: '192.31.196.0/24', name: 'AS112-v4', rfc: 'RFC 7535', reachable: true },
  { block: '192.52.193.0/24', name: 'AMT', rfc: 'RFC 7450', reachable: true },
  { block: '192.88.99.0/24', name: 'Deprecated (6to4 Relay Anycast)', rfc: 'RFC 7526', reachable: 'N/A', kind: 'reserved' },
  { block: '192.88.99.2/32', name: '6a44-relay anycast address', rfc: 'RFC 6751', reachable: false, kind: 'reserved' },
  { block: '192.168.0.0/16', name: 'Private-Use', rfc: 'RFC 1918', reachable: false, kind: 'private' },
  { block: '192.175.48.0/24', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', reachable: true },
  { block: '198.18.0.0/15', name: 'Benchmarking', rfc: 'RFC 2544', reachable: false, kind: 'reserved' },
  { block: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', rfc: 'RFC 5737', reachable: false, kind: 'reserved' },
  { block: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', rfc: 'RFC 5737', reachable: false, kind: 'reserved' },
  { block: '224.0.0.0/4', name: 'Multicast (IPv4 Multicast Address Space registry)', rfc: 'RFC 5771', reachable: false, kind: 'reserved' },
  { block: '240.0.0.0/4', name: 'Reserved', rfc: 'RFC 1112', reachable: false, kind: 'reserved' },
  { block: '255.255.255.255/32', name: 'Limited Broadcast', rfc: 'RFC 919', reachable: false, kind: 'reserved' },
];

const IPV6_REGISTRY: Row[] = [
  { block: '::1/128', name: 'Loopback Address', rfc: 'RFC 4291', reachable: false, kind: 'loopback' },
  { block: '::/128', name: 'Unspecified Address', rfc: 'RFC 4291', reachable: false, kind: 'unspecified' },
  { block: '::ffff:0:0/96', name: 'IPv4-mapped Address', rfc: 'RFC 4291', reachable: false, carries: low32, otherwise: 'public' },
  { block: '64:ff9b::/96', name: 'IPv4-IPv6 Translat.', rfc: 'RFC 6052', reachable: true, carries: low32, otherwise: 'public' },
  { block: '64:ff9b:1::/48', name: 'IPv4-IPv6 Translat.', rfc: 'RFC 8215', reachable: false, kind: 'reserved' },
  { block: '100::/64', name: 'Discard-Only Address Block', rfc: 'RFC 6666', reachable: false, kind: 'reserved' },
  { block: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix', rfc: 'RFC 9780', reachable: false, kind: 'reserved' },
  { block: '2001::/23', name: 'IETF Protocol Assignments', rfc: 'RFC 2928', reachable: false, kind: 'reserved' },
  {
    block: '2001::/32',
    name: 'TEREDO',
    rfc: 'RFC 4380',
    reachable: 'N/A',
    carries: (a) => [(a >> 64n) & 0xffffffffn, (a & 0xffffffffn) ^ 0xffffffffn],
    otherwise: 'public',
  },
  { block: '2001:1::1/128', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', reachable: true },
  { block: '2001:1::2/128', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', reachable: true },
  { block: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol Anycast', rfc: 'RFC 9665', reachable: true },
  { block: '2001:2::/48', name: 'Benchmarking', rfc: 'RFC 5180', reachable: false, kind: 'reserved' },
  { block: '2001:3::/32', name: 'AMT', rfc: 'RFC 7450', reachable: true },
  { block: '2001:4:112::/48', name: 'AS112-v6', rfc: 'RFC 7535', reachable: true },
  { block: '2001:10::/28', name: 'Deprecated (previously ORCHID)', rfc: 'RFC 4843', reachable: false, kind: 'reserved' },
  { block: '2001:20::/28', name: 'ORCHIDv2', rfc: 'RFC 7343', reachable: true },
  { block: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', rfc: 'RFC 9374', reachable: true },
  { block: '2001:db8::/32', name: 'Documentation', rfc: 'RFC 3849', reachable: false, kind: 'reserved' },
  { block: '2002::/16', name: '6to4', rfc: 'RFC 3056', reachable: 'N/A', carries: (a) => [(a >> 80n) & 0xffffffffn], otherwise: 'public' },
  { block: '2620:4f:8000::/48', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', reachable: true },
  { block: '3fff::/20', name: 'Documentation', rfc: 'RFC 9637', reachable: false, kind: 'reserved' },
  { block: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', rfc: 'RFC 9602', reachable: false, kind: 'reserved' },
  { block: 'fc00::/7', name: 'Unique-Local', rfc: 'RFC 4193', reachable: false, kind: 'private' },
  { block: 'fe80::/10', name: 'Link-Local Unicast', rfc: 'RFC 4291', reachable: false, kind: 'link-local' },
  // beyond the special-purpose registry
  { block: '::/96', name: 'IPv4-Compatible IPv6 Address (deprecated)', rfc: 'RFC 4291', reachable: false, carries: low32, otherwise: 'reserved' },
  { block: '::ffff:0:0:0/96', name: 'IPv4-translated Address', rfc: 'RFC 2765', reachable: false, carries: low32, otherwise: 'reserved' },
  { block: 'fec0::/10', name: 'Site-Local (deprecated; IPv6 Address Space registry)', rfc: 'RFC 3879', reachable: false, kind: 'reserved' },
  { block: 'ff00::/8', name: 'Multicast (IPv6 Address Space registry)', rfc: 'RFC 4291', reachable: false, kind: 'reserved' },
  { block: '2000::/3', name: 'Global Unicast (IPv6 Address Space registry)', rfc: 'RFC 4291', reachable: true },
];

// ---------------------------------------------------------------------------------------------------------
// Addresses as 32- or 128-bit integers

const v4ToInt = (s: string) => s.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n);
const v4Text = (n: bigint) => [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');

function v6ToInt(s: string): bigint {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

interface Block {
  row: Row;
  base: bigint;
  prefix: number;
  bits: number;
}
const blocks = (rows: Row[], bits: number, parse: (s: string) => bigint): Block[] =>
  rows
    .map((row) => {
      const [addr, len] = row.block.split('/');
      return { row, base: parse(addr!), prefix: Number(len), bits };
    })
    .sort((a, b) => b.prefix - a.prefix);
const V4 = blocks(IPV4_REGISTRY, 32, v4ToInt);
const V6 = blocks(IPV6_REGISTRY, 128, v6ToInt);
const contains = (b: Block, a: bigint) => a >> BigInt(b.bits - b.prefix) === b.base >> BigInt(b.bits - b.prefix);

function expectedV4(a: bigint): AddressClass {
  const hit = V4.find((b) => contains(b, a));
  return !hit || hit.row.reachable === true ? 'public' : hit.row.kind!;
}

function expectedV6(a: bigint): AddressClass {
  const hit = V6.find((b) => contains(b, a));
  // outside every row (and so outside 2000::/3, fc00::/7, fe80::/10): reserved by the IETF
  if (!hit) return 'reserved';
  const { row } = hit;
  if (row.carries) {
    for (const inner of row.carries(a)) {
      const k = expectedV4(inner);
      if (k !== 'public') return k;
    }
    return row.otherwise!;
  }
  return row.reachable === true ? 'public' : row.kind!;
}

// ---------------------------------------------------------------------------------------------------------
// Writing addresses the ways a resolver or a URL may

const groupsOf = (a: bigint) => Array.from({ length: 8 }, (_, i) => Number((a >> BigInt(112 - 16 * i)) & 0xffffn));

/** Full, compressed (longest zero run as `::`), upper case, bracketed, or with a dotted IPv4 tail. */
function v6Text(a: bigint, style: number): string {
  const g = groupsOf(a).map((x) => x.toString(16));
  if (style === 0) return g.join(':');
  if (style === 4) {
    const dotted = v4Text(a & 0xffffffffn);
    return `${compress(g.slice(0, 6), 6)}${compress(g.slice(0, 6), 6).endsWith(':') ? '' : ':'}${dotted}`;
  }
  const text = compress(g, 8);
  if (style === 2) return text.toUpperCase();
  if (style === 3) return `[${text}]`;
  return text;
}

function compress(g: string[], n: number): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && g[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return g.slice(0, n).join(':');
  const left = g.slice(0, best).join(':');
  const right = g.slice(best + bestLen, n).join(':');
  return `${left}::${right}`;
}

const randomIn = (b: Block) =>
  fc.bigInt({ min: 0n, max: (1n << BigInt(b.bits - b.prefix)) - 1n }).map((host) => ((b.base >> BigInt(b.bits - b.prefix)) << BigInt(b.bits - b.prefix)) | host);
/** Just below and just above a block: where an off-by-one in a mask would show. */
const edges = (b: Block) => {
  const size = 1n << BigInt(b.bits - b.prefix);
  const start = (b.base >> BigInt(b.bits - b.prefix)) << BigInt(b.bits - b.prefix);
  const max = (1n << BigInt(b.bits)) - 1n;
  return [start - 1n, start, start + size - 1n, start + size].filter((x) => x >= 0n && x <= max);
};

const v4Address = fc.oneof(
  fc.constantFrom(...V4).chain(randomIn),
  fc.constantFrom(...V4.flatMap(edges)),
  fc.bigInt({ min: 0n, max: 0xffffffffn }),
);
// (192.0.0.0/24 is not globally reachable, but 192.0.0.9 and .10 inside it are)
const nonPublicV4 = fc.constantFrom(...V4.filter((b) => b.row.reachable !== true)).chain(randomIn).filter((a) => expectedV4(a) !== 'public');

/** The IPv6 forms that carry an IPv4 address, around a chosen IPv4 address (mostly a non-public one). */
const embedded = fc
  .tuple(fc.oneof(nonPublicV4, v4Address), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 6 }))
  .map(([v4, rest, form]) => {
    switch (form) {
      case 0: return (0xffffn << 32n) | v4; // IPv4-mapped
      case 1: return v4 > 1n ? v4 : v4 + 2n; // IPv4-compatible
      case 2: return (0xffffn << 48n) | v4; // IPv4-translated
      case 3: return (0x64ff9bn << 96n) | v4; // NAT64 well-known prefix
      case 4: return (0x2002n << 112n) | (v4 << 80n) | (rest & ((1n << 80n) - 1n)); // 6to4
      case 5: return (0x20010000n << 96n) | (v4 << 64n) | (rest & (0xffffffffn << 32n)) | (v4 ^ 0xffffffffn); // Teredo, the address as client and server
      default: return (0x20010000n << 96n) | (rest & (0xffffffffn << 64n)) | (rest & (0xffffffffn << 32n)) | (v4 ^ 0xffffffffn); // Teredo client
    }
  });

const v6Address = fc.oneof(
  fc.constantFrom(...V6).chain(randomIn),
  fc.constantFrom(...V6.flatMap(edges)),
  embedded,
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  fc.bigInt({ min: 0x2000n << 112n, max: (0x4000n << 112n) - 1n }),
);

describe('classifyAddress against the IANA special-purpose registries', () => {
  it('classes every IPv4 address as the most specific registry row holding it says', () => {
    fc.assert(
      fc.property(v4Address, (a) => {
        expect(classifyAddress(v4Text(a)), v4Text(a)).toBe(expectedV4(a));
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('classes every IPv6 address, embedded-IPv4 forms included, in every way it can be written', () => {
    fc.assert(
      fc.property(v6Address, fc.integer({ min: 0, max: 4 }), (a, style) => {
        const text = v6Text(a, style);
        expect(classifyAddress(text), text).toBe(expectedV6(a));
      }),
      { numRuns: Number(process.env.ADDRESS_RUNS ?? 10_000) },
    );
  }, 120_000);

  it('never takes a non-public IPv4 address for public in any IPv6 form that carries it', () => {
    fc.assert(
      fc.property(nonPublicV4, fc.integer({ min: 0, max: 4 }), (v4, style) => {
        for (const a of [(0xffffn << 32n) | v4, v4 > 1n ? v4 : v4 + 2n, (0xffffn << 48n) | v4, (0x64ff9bn << 96n) | v4, (0x2002n << 112n) | (v4 << 80n), (0x20010000n << 96n) | (v4 ^ 0xffffffffn)]) {
          expect(classifyAddress(v6Text(a, style)), v6Text(a, style)).not.toBe('public');
        }
      }),
      { numRuns: 3_000 },
    );
  }, 60_000);

  it("has every row's block aligned to its prefix length", () => {
    // a guard against a typo in the table silently covering nothing
    for (const b of [...V4, ...V6]) expect(b.base >> BigInt(b.bits - b.prefix) << BigInt(b.bits - b.prefix), b.row.block).toBe(b.base);
  });
});
