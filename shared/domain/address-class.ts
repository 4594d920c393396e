import ipaddr from 'ipaddr.js';

/**
 * What an outbound target (a pull's source, an alert's webhook) may connect to: addresses are classed by
 * the IANA special-purpose address registries (IPv4 and IPv6), matched with `ipaddr.js`, plus the IPv6
 * forms that carry an IPv4 address inside them, each classed by the address it carries.
 *
 * @example
 * classifyAddress('[::169.254.169.254]'); // 'link-local' (IPv4-compatible form of the metadata service)
 * refusalReason('10.1.2.3', { allowPrivate: false, allowLoopback: false }); // 'a private address (10.1.2.3); set …'
 */

/** What kind of address a target resolved to; only `public` may be reached without opting in. */
export type AddressClass = 'public' | 'private' | 'loopback' | 'link-local' | 'unspecified' | 'reserved';

/** One range, as the registries name it, and how a target inside it is treated. */
interface Range {
  cidr: string;
  name: string;
  kind: AddressClass;
}

/**
 * The IPv4 Special-Purpose Address Registry (plus multicast, 224.0.0.0/4): the most specific range that
 * holds an address decides. Ranges the registry marks globally reachable inside a larger reserved block
 * (PCP and TURN anycast) are public again; AS112 and AMT are public and need no entry.
 */
const IPV4: Range[] = [
  { cidr: '0.0.0.0/8', name: '"This network"', kind: 'unspecified' },
  { cidr: '10.0.0.0/8', name: 'Private-Use', kind: 'private' },
  { cidr: '100.64.0.0/10', name: 'Shared Address Space', kind: 'private' },
  { cidr: '127.0.0.0/8', name: 'Loopback', kind: 'loopback' },
  { cidr: '169.254.0.0/16', name: 'Link Local', kind: 'link-local' },
  { cidr: '172.16.0.0/12', name: 'Private-Use', kind: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF Protocol Assignments', kind: 'reserved' },
  { cidr: '192.0.0.9/32', name: 'Port Control Protocol Anycast', kind: 'public' },
  { cidr: '192.0.0.10/32', name: 'Traversal Using Relays around NAT Anycast', kind: 'public' },
  { cidr: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', kind: 'reserved' },
  { cidr: '192.88.99.0/24', name: 'Deprecated (6to4 Relay Anycast)', kind: 'reserved' },
  { cidr: '192.168.0.0/16', name: 'Private-Use', kind: 'private' },
  { cidr: '198.18.0.0/15', name: 'Benchmarking', kind: 'reserved' },
  { cidr: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', kind: 'reserved' },
  { cidr: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', kind: 'reserved' },
  { cidr: '224.0.0.0/4', name: 'Multicast', kind: 'reserved' },
  { cidr: '240.0.0.0/4', name: 'Reserved', kind: 'reserved' },
  { cidr: '255.255.255.255/32', name: 'Limited Broadcast', kind: 'reserved' },
];

/**
 * The IPv6 Special-Purpose Address Registry (plus multicast and the deprecated site-local block). Outside
 * 2000::/3, fc00::/7 and fe80::/10 everything is reserved by the IETF (the IPv6 Address Space registry):
 * `reserved` unless a range here says otherwise. The embedded-IPv4 forms are in `EMBEDDED`.
 */
const IPV6: Range[] = [
  { cidr: '::/128', name: 'Unspecified Address', kind: 'unspecified' },
  { cidr: '::1/128', name: 'Loopback Address', kind: 'loopback' },
  { cidr: '64:ff9b:1::/48', name: 'IPv4-IPv6 Translat. (local use)', kind: 'reserved' },
  { cidr: '100::/64', name: 'Discard-Only Address Block', kind: 'reserved' },
  { cidr: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix', kind: 'reserved' },
  { cidr: '2001::/23', name: 'IETF Protocol Assignments', kind: 'reserved' },
  { cidr: '2001:1::1/128', name: 'Port Control Protocol Anycast', kind: 'public' },
  { cidr: '2001:1::2/128', name: 'Traversal Using Relays around NAT Anycast', kind: 'public' },
  { cidr: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol Anycast', kind: 'public' },
  { cidr: '2001:2::/48', name: 'Benchmarking', kind: 'reserved' },
  { cidr: '2001:3::/32', name: 'AMT', kind: 'public' },
  { cidr: '2001:4:112::/48', name: 'AS112-v6', kind: 'public' },
  { cidr: '2001:10::/28', name: 'Deprecated (previously ORCHID)', kind: 'reserved' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2', kind: 'public' },
  { cidr: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', kind: 'public' },
  { cidr: '2001:db8::/32', name: 'Documentation', kind: 'reserved' },
  { cidr: '2000::/3', name: 'Global Unicast', kind: 'public' },
  { cidr: '3fff::/20', name: 'Documentation', kind: 'reserved' },
  { cidr: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', kind: 'reserved' },
  { cidr: 'fc00::/7', name: 'Unique-Local', kind: 'private' },
  { cidr: 'fe80::/10', name: 'Link-Local Unicast', kind: 'link-local' },
  { cidr: 'fec0::/10', name: 'Site-Local (deprecated)', kind: 'reserved' },
  { cidr: 'ff00::/8', name: 'Multicast', kind: 'reserved' },
];

/**
 * IPv6 forms that carry an IPv4 address: a target in one is what its IPv4 address is (a packet to it may
 * end up there, through the host's dual stack, a translator or a tunnel). `otherwise` is the class when
 * every carried address is public: the deprecated or local-only forms stay refused even then.
 */
interface EmbeddedForm {
  cidr: string;
  name: string;
  /** The IPv4 addresses it carries, from the address's 16 bytes. */
  ipv4(bytes: number[]): number[][];
  otherwise: AddressClass;
}

const last32 = (b: number[]) => [b.slice(12, 16)];
const EMBEDDED: EmbeddedForm[] = [
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped', ipv4: last32, otherwise: 'public' },
  // RFC 4291 deprecated it, but a host with a SIT tunnel still routes it to the IPv4 address
  { cidr: '::/96', name: 'IPv4-compatible', ipv4: last32, otherwise: 'reserved' },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated', ipv4: last32, otherwise: 'reserved' },
  { cidr: '64:ff9b::/96', name: 'NAT64 well-known prefix', ipv4: last32, otherwise: 'public' },
  // server in bits 32-63, client in the last 32 bits with every bit inverted (RFC 4380)
  { cidr: '2001::/32', name: 'Teredo', ipv4: (b) => [b.slice(4, 8), b.slice(12, 16).map((x) => x ^ 0xff)], otherwise: 'public' },
  { cidr: '2002::/16', name: '6to4', ipv4: (b) => [b.slice(2, 6)], otherwise: 'public' },
];

type Parsed<T> = [T, number];
const compile = <T extends ipaddr.IPv4 | ipaddr.IPv6>(ranges: { cidr: string }[]) =>
  ranges
    .map((r) => ({ ...r, range: ipaddr.parseCIDR(r.cidr) as Parsed<T> }))
    // the most specific range first: it overrides the block it sits in
    .sort((a, b) => b.range[1] - a.range[1]);
const V4 = compile<ipaddr.IPv4>(IPV4) as (Range & { range: Parsed<ipaddr.IPv4> })[];
const V6 = compile<ipaddr.IPv6>(IPV6) as (Range & { range: Parsed<ipaddr.IPv6> })[];
const FORMS = compile<ipaddr.IPv6>(EMBEDDED) as (EmbeddedForm & { range: Parsed<ipaddr.IPv6> })[];

/** How an address was classed: its class, the registry range that decided, and the IPv4 it carries if any. */
export interface AddressInfo {
  kind: AddressClass;
  range?: string;
  embedded?: { form: string; ipv4: string };
}

/**
 * Classes an IPv4 or IPv6 address (brackets and a `%zone` allowed). Anything that is not a plain address
 * (dotted-quad IPv4 or IPv6) is `reserved`, so it is never taken for public.
 *
 * @example
 * describeAddress('2002:a9fe:a9fe::1'); // { kind: 'link-local', range: 'Link Local', embedded: { form: '6to4', ipv4: '169.254.169.254' } }
 */
export function describeAddress(address: string): AddressInfo {
  const bare = address.replace(/^\[|\]$/g, '');
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipv4Info(ipaddr.IPv4.parse(bare));
  const text = hexTail(bare);
  if (text === undefined || !ipaddr.IPv6.isValid(text)) return { kind: 'reserved' };
  const v6 = ipaddr.IPv6.parse(text);
  const bytes = v6.toByteArray();
  for (const form of FORMS) {
    if (!v6.match(form.range)) continue;
    // `::` and `::1` sit in `::/96` but are their own ranges
    if (form.cidr === '::/96' && (bytes.slice(12).every((b) => b === 0) || bytes.slice(12).join() === '0,0,0,1')) break;
    for (const octets of form.ipv4(bytes)) {
      const inner = ipv4Info(new ipaddr.IPv4(octets));
      if (inner.kind !== 'public') return { ...inner, embedded: { form: form.name, ipv4: octets.join('.') } };
    }
    return { kind: form.otherwise, range: form.name };
  }
  const hit = V6.find((r) => v6.match(r.range));
  return hit ? { kind: hit.kind, range: hit.name } : { kind: 'reserved', range: 'Reserved by IETF' };
}

const DOTTED_TAIL = /(^|:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(%.*)?$/;

/**
 * A trailing dotted IPv4 as two hex groups (`::10.0.0.1` → `::a00:1`): ipaddr.js reads `::a.b.c.d` as
 * IPv4-mapped (`::ffff:a.b.c.d`), but RFC 4291 and `inet_ntop` mean IPv4-compatible by it.
 * `undefined` when an octet is above 255.
 */
function hexTail(s: string): string | undefined {
  const m = DOTTED_TAIL.exec(s);
  if (!m) return s;
  const o = m.slice(2, 6).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  const hex = `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  return `${s.slice(0, m.index)}${m[1]}${hex}${m[6] ?? ''}`;
}

function ipv4Info(v4: ipaddr.IPv4): AddressInfo {
  const hit = V4.find((r) => v4.match(r.range));
  return hit ? { kind: hit.kind, range: hit.name } : { kind: 'public' };
}

/**
 * The class of an address (see `describeAddress`).
 *
 * @example
 * classifyAddress('169.254.169.254'); // 'link-local' (the instance metadata service)
 * classifyAddress('::ffff:10.0.0.1'); // 'private'
 * classifyAddress('93.184.216.34'); // 'public'
 */
export function classifyAddress(address: string): AddressClass {
  return describeAddress(address).kind;
}

/** What a target may reach: public addresses; private ranges when the stream opts in; loopback when the runtime does. */
export interface TargetPolicy {
  /** The stream's `allowPrivateTargets`: RFC 1918, CGNAT and unique-local IPv6. */
  allowPrivate: boolean;
  /** A runtime option (the local runtime sets it), never a stream field: 127.0.0.0/8 and ::1. */
  allowLoopback: boolean;
}

/**
 * An address's class in words: `a link-local address (::a9fe:a9fe, the IPv4-compatible form of 169.254.169.254)`.
 *
 * @example
 * addressInWords('10.0.0.1'); // 'a private address (10.0.0.1)'
 */
export function addressInWords(address: string, info: AddressInfo = describeAddress(address)): string {
  const via = info.embedded ? `, the ${info.embedded.form} form of ${info.embedded.ipv4}` : '';
  return `a ${info.kind} address (${address}${via})`;
}

/**
 * Why an address may not be reached, or `undefined` if it may. Link-local (the metadata service),
 * unspecified and reserved addresses are always refused, in whatever form they are written.
 *
 * @example
 * refusalReason('10.1.2.3', { allowPrivate: false, allowLoopback: false }); // 'a private address (10.1.2.3); set source.allowPrivateTargets to reach it'
 */
export function refusalReason(address: string, policy: TargetPolicy): string | undefined {
  const info = describeAddress(address);
  const kind = info.kind;
  if (kind === 'public') return undefined;
  if (kind === 'private' && policy.allowPrivate) return undefined;
  if (kind === 'loopback' && policy.allowLoopback) return undefined;
  const hint = kind === 'private' ? '; set source.allowPrivateTargets to reach it' : '';
  return `${addressInWords(address, info)}${hint}`;
}
