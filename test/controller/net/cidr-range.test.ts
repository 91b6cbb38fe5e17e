import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../controller/net/cidr.js';
import { maskPrefix, prefixMask, rangeToCidrs, splitCovered } from '../../../controller/net/cidr-range.js';

const keys = (cs: { key: string }[]) => cs.map((c) => c.key);

describe('rangeToCidrs', () => {
  it('covers an unaligned IPv4 range with the fewest CIDRs', () => {
    expect(keys(rangeToCidrs('10.0.0.1', '10.0.0.5'))).toEqual(['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31']);
  });
  it('turns an aligned range into one prefix', () => {
    expect(keys(rangeToCidrs('10.0.0.0', '10.0.0.255'))).toEqual(['10.0.0.0/24']);
    expect(keys(rangeToCidrs('2001:db8::', '2001:db8::ffff'))).toEqual(['2001:db8::/112']);
  });
  it('handles a single address and the top of the address space', () => {
    expect(keys(rangeToCidrs('192.0.2.9', '192.0.2.9'))).toEqual(['192.0.2.9']);
    expect(keys(rangeToCidrs('255.255.255.254', '255.255.255.255'))).toEqual(['255.255.255.254/31']);
  });
  it('refuses mixed families and reversed ranges', () => {
    expect(() => rangeToCidrs('10.0.0.5', '10.0.0.1')).toThrow(/invalid address range/);
    expect(() => rangeToCidrs('10.0.0.5', '::1')).toThrow(/invalid address range/);
  });
});

describe('netmasks', () => {
  it('round-trips prefix lengths through mask addresses', () => {
    expect(prefixMask(4, 24)).toBe('255.255.255.0');
    expect(prefixMask(4, 32)).toBe('255.255.255.255');
    expect(prefixMask(6, 48)).toBe('ffff:ffff:ffff::');
    for (const p of [1, 8, 31, 32]) expect(maskPrefix(4, prefixMask(4, p))).toBe(p);
    for (const p of [1, 48, 64, 127, 128]) expect(maskPrefix(6, prefixMask(6, p))).toBe(p);
    expect(maskPrefix(4, '255.0.255.0')).toBeUndefined();
  });
});

describe('splitCovered', () => {
  it('keeps the outermost networks and lists the nested ones as covered', () => {
    const { outer, covered } = splitCovered(['10.1.2.3', '10.0.0.0/8', '10.1.0.0/16', '11.0.0.1', '2001:db8::1', '2001:db8::/32'].map(parseCidr));
    expect(keys(outer)).toEqual(['10.0.0.0/8', '11.0.0.1', '2001:db8::/32']);
    expect(keys(covered).sort()).toEqual(['10.1.0.0/16', '10.1.2.3', '2001:db8::1']);
  });
  it('leaves adjacent networks alone (they do not nest)', () => {
    const { outer, covered } = splitCovered(['10.1.0.0/24', '10.1.1.0/24'].map(parseCidr));
    expect(keys(outer)).toEqual(['10.1.0.0/24', '10.1.1.0/24']);
    expect(covered).toEqual([]);
  });
});
