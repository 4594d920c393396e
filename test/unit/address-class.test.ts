import { describe, expect, it } from 'vitest';
import { classifyAddress, describeAddress, refusalReason } from '../../shared/domain/address-class';

const none = { allowPrivate: false, allowLoopback: false };

/** Teredo: prefix, server IPv4 in bits 32-63, flags, port, then the client IPv4 with every bit inverted. */
const teredo = (server: string, client: string) => {
  const hex = (ip: string, invert = false) => {
    const n = ip.split('.').map((o) => (invert ? 255 - Number(o) : Number(o)));
    return `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  };
  return `2001:0:${hex(server)}:8000:f227:${hex(client, true)}`;
};

describe('classifyAddress: the IPv6 forms that carry an IPv4 address', () => {
  it.each([
    // IPv4-compatible (::/96, deprecated): the finding
    ['[::169.254.169.254]', 'link-local', 'IPv4-compatible'],
    ['::a9fe:a9fe', 'link-local', 'IPv4-compatible'],
    ['::10.0.0.1', 'private', 'IPv4-compatible'],
    ['::127.0.0.1', 'loopback', 'IPv4-compatible'],
    // IPv4-mapped (::ffff:0:0/96)
    ['::ffff:169.254.169.254', 'link-local', 'IPv4-mapped'],
    ['::ffff:a9fe:a9fe', 'link-local', 'IPv4-mapped'],
    ['::ffff:192.168.1.1', 'private', 'IPv4-mapped'],
    // IPv4-translated (::ffff:0:0:0/96, SIIT)
    ['::ffff:0:169.254.169.254', 'link-local', 'IPv4-translated'],
    ['::ffff:0:a00:1', 'private', 'IPv4-translated'],
    // NAT64 well-known prefix (64:ff9b::/96)
    ['64:ff9b::169.254.169.254', 'link-local', 'NAT64 well-known prefix'],
    ['64:ff9b::a00:1', 'private', 'NAT64 well-known prefix'],
    // 6to4 (2002::/16): the IPv4 address is bits 16-47
    ['2002:a9fe:a9fe::1', 'link-local', '6to4'],
    ['2002:c0a8:101:1::1', 'private', '6to4'],
    ['2002:7f00:1::', 'loopback', '6to4'],
    // Teredo (2001::/32): the server (bits 32-63) and the inverted client (last 32 bits)
    [teredo('93.184.216.34', '169.254.169.254'), 'link-local', 'Teredo'],
    [teredo('93.184.216.34', '10.0.0.1'), 'private', 'Teredo'],
    [teredo('127.0.0.1', '93.184.216.34'), 'loopback', 'Teredo'],
  ])('%s is %s (the %s form)', (address, kind, form) => {
    const info = describeAddress(address);
    expect(info.kind).toBe(kind);
    expect(info.embedded?.form).toBe(form);
    expect(refusalReason(address, kind === 'private' ? none : { allowPrivate: true, allowLoopback: false })).toContain(`the ${form} form of`);
  });

  it.each([
    ['::ffff:93.184.216.34', 'public'],
    ['64:ff9b::5db8:d822', 'public'],
    ['2002:5db8:d822::1', 'public'],
    [teredo('93.184.216.34', '8.8.8.8'), 'public'],
    // deprecated or local-only forms stay refused even around a public address
    ['::93.184.216.34', 'reserved'],
    ['::ffff:0:5db8:d822', 'reserved'],
    ['64:ff9b:1::5db8:d822', 'reserved'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'reserved'],
  ])('%s carrying a public address is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('keeps :: and ::1 their own classes, not IPv4-compatible ones', () => {
    expect(classifyAddress('::')).toBe('unspecified');
    expect(classifyAddress('::1')).toBe('loopback');
    expect(classifyAddress('[::1]')).toBe('loopback');
  });

  it('refuses what is not a plain address and the IETF-reserved IPv6 space', () => {
    for (const a of ['not an address', '127.1', '0x7f.0.0.1', '1.2.3', '', '4000::1', '::2:0:0:1']) expect(classifyAddress(a), a).toBe('reserved');
  });

  it('allows the globally reachable anycast addresses inside reserved blocks', () => {
    expect(classifyAddress('192.0.0.9')).toBe('public');
    expect(classifyAddress('192.0.0.8')).toBe('reserved');
    expect(classifyAddress('2001:1::1')).toBe('public');
    expect(classifyAddress('2001:1::4')).toBe('reserved');
  });
});
