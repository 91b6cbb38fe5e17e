/** The short canonical paths must give exactly what the general parsers give. */
import { describe, it, expect } from 'vitest';
import { fastCanonicalV4, fastCanonicalTime, parseCidrCached } from '../../../controller/ledger/checks.js';
import { tryParseCidr } from '../../../controller/net/cidr.js';
import { parseTime } from '../../../controller/lib/duration.js';

let seed = 7;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};

describe('fastCanonicalV4', () => {
  it('agrees with parseCidr on random dotted quads and prefixes', () => {
    for (let i = 0; i < 20000; i++) {
      const octets = [rand(260), rand(256), rand(256), rand(4) === 0 ? 0 : rand(256)];
      const prefix = rand(3) === 0 ? '' : `/${rand(34)}`;
      const lead = rand(50) === 0 ? '0' : '';
      const text = `${lead}${octets.join('.')}${prefix}`;
      const fast = fastCanonicalV4(text);
      const slow = tryParseCidr(text);
      if (fast) expect(fast, text).toEqual(slow);
      expect(parseCidrCached(text), text).toEqual(slow);
    }
  });

  it('leaves non-canonical spellings to the general parser', () => {
    for (const t of ['192.0.2.1/32', '010.0.0.1', '192.0.2.0/0', '10.0.0.1/8', ' 10.0.0.1', '1.2.3', '::ffff:192.0.2.1']) {
      expect(fastCanonicalV4(t), t).toBeUndefined();
    }
    expect(parseCidrCached('192.0.2.1/32')).toMatchObject({ key: '192.0.2.1' });
  });
});

describe('fastCanonicalTime', () => {
  it('agrees with parseTime on random times, including impossible dates', () => {
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    for (let i = 0; i < 20000; i++) {
      const text = `${pad(1990 + rand(120), 4)}-${pad(rand(14))}-${pad(rand(33))}T${pad(rand(25))}:${pad(rand(61))}:${pad(rand(61))}Z`;
      const fast = fastCanonicalTime(text);
      let slow: number | undefined;
      try {
        slow = parseTime(text).getTime();
      } catch {
        slow = undefined;
      }
      if (fast !== undefined) expect(fast, text).toBe(slow);
      else if (slow !== undefined) expect(text.endsWith(':60Z'), `${text} refused by the fast path only`).toBe(true); // leap seconds: general path
    }
  });

  it('leap years', () => {
    expect(fastCanonicalTime('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(fastCanonicalTime('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(fastCanonicalTime('2100-02-29T00:00:00Z')).toBeUndefined();
    expect(fastCanonicalTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
  });
});

describe('fastCanonicalV6', () => {
  const hex = (): string => rand(4) === 0 ? '0' : rand(65536).toString(16);
  it('agrees with parseCidr on random addresses, spellings and prefixes', async () => {
    const { fastCanonicalV6, formatV6Groups } = await import('../../../controller/ledger/checks.js');
    const ipaddr = (await import('ipaddr.js')).default;
    for (let i = 0; i < 20000; i++) {
      const groups = Array.from({ length: 8 }, () => (rand(3) === 0 ? 0 : parseInt(hex(), 16)));
      if (rand(10) === 0) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
      expect(formatV6Groups(groups)).toBe(new ipaddr.IPv6(groups).toRFC5952String());
      const canonical = new ipaddr.IPv6(groups).toRFC5952String();
      const spelled = pick([canonical, canonical.toUpperCase(), groups.map((n) => n.toString(16)).join(':'), groups.map((n) => n.toString(16).padStart(4, '0')).join(':')]);
      const prefix = pick(['', '', `/${rand(130)}`, '/64', '/48', '/128']);
      const text = spelled + prefix;
      const fast = fastCanonicalV6(text);
      const slow = tryParseCidr(text);
      if (fast) expect(fast, text).toEqual(slow);
      expect(parseCidrCached(text), text).toEqual(slow);
    }
  });

  it('takes the common canonical forms', async () => {
    const { fastCanonicalV6 } = await import('../../../controller/ledger/checks.js');
    for (const t of ['2001:db8::1', '2001:db8:dead::/48', '2001:db8::/32', '::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1']) {
      expect(fastCanonicalV6(t), t).toEqual(tryParseCidr(t));
    }
    for (const t of ['2001:DB8::1', '2001:db8::1/128', '2001:0db8::1', '::ffff:c000:201', '2001:db8::1/64', '2001:db8:0:0:1::1', '1::2::3']) {
      expect(fastCanonicalV6(t), t).toBeUndefined();
    }
  });
});

function pick<T>(xs: readonly T[]): T {
  return xs[rand(xs.length)]!;
}
