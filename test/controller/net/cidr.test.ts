import { describe, it, expect } from 'vitest';
import { parseCidr, tryParseCidr, compareCidr, cidrContains, cidrOverlaps, widen, familyOf, CidrError } from '../../../controller/net/cidr.js';

describe('parseCidr: one canonical key per network', () => {
  const canonical: [string, string][] = [
    ['198.51.100.7', '198.51.100.7'],
    ['198.51.100.7/32', '198.51.100.7'],
    ['203.0.113.0/24', '203.0.113.0/24'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1/128', '2001:db8::1'],
    ['2001:0db8:dead:0000::/48', '2001:db8:dead::/48'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.0/120', '192.0.2.0/24'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ];
  for (const [input, key] of canonical) it(`${input} → ${key}`, () => expect(parseCidr(input).key).toBe(key));

  const refused: [string, string][] = [
    ['10.0.0.1/24', 'E_CIDR_HOST_BITS'],
    ['2001:db8::1/64', 'E_CIDR_HOST_BITS'],
    ['0.0.0.0/0', 'E_CIDR_ZERO'],
    ['::/0', 'E_CIDR_ZERO'],
    ['192.0.2.0/33', 'E_CIDR_PREFIX'],
    ['192.0.2.0/024', 'E_CIDR_PREFIX'],
    ['203.0.113.300', 'E_CIDR_SYNTAX'],
    ['fe80::1%eth0', 'E_CIDR_SYNTAX'],
    [' 192.0.2.1', 'E_CIDR_SYNTAX'],
    ['', 'E_CIDR_SYNTAX'],
    ['example.org', 'E_CIDR_SYNTAX'],
  ];
  for (const [input, code] of refused) {
    it(`refuses ${JSON.stringify(input)} with ${code}`, () => {
      const r = tryParseCidr(input);
      expect(r).toBeInstanceOf(CidrError);
      expect((r as CidrError).code).toBe(code);
    });
  }

  it('suggests the network when host bits are set', () => {
    expect((tryParseCidr('10.0.0.1/8') as CidrError).suggestion).toBe('10.0.0.0/8');
  });
});

describe('ordering and containment', () => {
  it('IPv4 before IPv6, then address, then broader first', () => {
    const keys = ['2001:db8::1', '198.51.100.7', '10.0.0.0/8', '10.0.0.0/16', '2001:db8::/32', '9.255.255.255'];
    expect(keys.map(parseCidr).sort(compareCidr).map((c) => c.key)).toEqual(['9.255.255.255', '10.0.0.0/8', '10.0.0.0/16', '198.51.100.7', '2001:db8::/32', '2001:db8::1']);
  });

  it('contains, overlaps, widen, familyOf', () => {
    const net = parseCidr('192.0.2.0/24');
    expect(cidrContains(net, parseCidr('192.0.2.77'))).toBe(true);
    expect(cidrContains(parseCidr('192.0.2.77'), net)).toBe(false);
    expect(cidrOverlaps(parseCidr('192.0.2.77'), net)).toBe(true);
    expect(cidrOverlaps(net, parseCidr('2001:db8::/32'))).toBe(false);
    expect(widen(parseCidr('2001:db8:1:2:3:4:5:6'), 64).key).toBe('2001:db8:1:2::/64');
    expect(familyOf('2001:db8::1')).toBe(6);
    expect(familyOf('192.0.2.1')).toBe(4);
  });
});
