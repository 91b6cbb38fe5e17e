import { describe, expect, it } from 'vitest';
/**
 * parseCidr takes the scanners of cidr-fast.ts for plain spellings; whatever path it takes,
 * result and error must be the general path's (parseCidrGeneral, ipaddr.js).
 */
import ipaddr from 'ipaddr.js';
import { cidrKey, parseCidr, parseCidrCached, parseCidrGeneral, scanV4, tryParseCidr, widen, type Cidr } from '../../../controller/net/cidr.js';
import { formatV6Groups } from '../../../controller/net/cidr-fast.js';
import { rng } from '../../helpers/rng.js';

function seeded(seed: number): (n: number) => number {
  const next = rng(seed);
  return (n) => Math.floor(next() * n);
}

const keyOf = (c: Cidr) => ({ key: c.key, family: c.family });

function outcome(fn: () => Cidr): unknown {
  try {
    return fn();
  } catch (err) {
    return { error: (err as { code?: string }).code, message: (err as Error).message };
  }
}

const SAME = [
  '1.2.3.4', '10.0.0.0/8', '0.0.0.1', '255.255.255.255', '10.0.0.0/32', '192.0.2.1/24', '01.2.3.4', '1.2.3.256', '1.2.3.4/0',
  '1.2.3.4/33', '1.2.3.4/032', '2001:db8::1', '2001:db8::/32', '2001:DB8::1', '2001:0db8::1', '2001:db8:0:0:1:0:0:1',
  '2001:db8::1:0:0:1', '1:0:0:0:0:0:0:1', '::1', '::', '::/0', 'fe80::/10', '2001:db8::1/64', '2001:db8::/128',
  '::ffff:1.2.3.4', '::ffff:0:0/96', '::ffff:a00:0/104', '1::2::3', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8', '2001:db8:0:1::/64', '1:0:1:0:0:1:0:0', 'x', '', '1.2.3', '2001:db8::g',
  '1.2.3.4.5', '1..2.3', '1.2.3.4/', '1.2.3.4/7a', '256.1.1.1', '1.2.3.0/24x', '.1.2.3', '1.2.3.', '0.0.0.0', '1.2.3.4 ',
  '10.0.0.0/9', '10.128.0.0/9', '1000.1.1.1', '1.2.3.4/1', '128.0.0.0/1',
];

describe('parseCidr (fast path) and cidrKey', () => {
  it('agrees with parseCidr, result or error, on tricky spellings', () => {
    for (const t of SAME) {
      expect(outcome(() => parseCidr(t)), t).toEqual(outcome(() => parseCidrGeneral(t)));
      expect(outcome(() => cidrKey(t) as unknown as Cidr), t).toEqual(outcome(() => keyOf(parseCidrGeneral(t)) as unknown as Cidr));
    }
  });

  it('agrees with parseCidr on random addresses and prefixes', () => {
    const rand = seeded(7);
    for (let i = 0; i < 3000; i++) {
      const v4 = `${rand(256)}.${rand(256)}.${rand(256)}.${rand(256)}${rand(2) ? `/${rand(34)}` : ''}`;
      const groups = Array.from({ length: 8 }, () => (rand(3) === 0 ? 0 : rand(65536)).toString(16));
      const v6 = `${parseCidrGeneral(groups.join(':')).key}${rand(2) ? `/${rand(130)}` : ''}`;
      for (const t of [v4, v6]) expect(outcome(() => parseCidr(t)), t).toEqual(outcome(() => parseCidrGeneral(t)));
      // and on valid networks of every prefix length, the case the kernel prints
      const net4 = widen(parseCidrGeneral(v4.split('/')[0]!), 1 + rand(32)).key;
      const net6 = widen(parseCidrGeneral(v6.split('/')[0]!), 1 + rand(128)).key;
      for (const t of [net4, net6]) {
        expect(parseCidr(t), t).toEqual(parseCidrGeneral(t));
        expect(cidrKey(t), t).toEqual(keyOf(parseCidrGeneral(t)));
      }
      for (const t of [v4, v6]) expect(outcome(() => cidrKey(t) as unknown as Cidr), t).toEqual(outcome(() => keyOf(parseCidrGeneral(t)) as unknown as Cidr));
    }
  });
});

describe('parseCidrCached', () => {
  it('agrees with the general path on random dotted quads, leading zeros and prefixes', () => {
    const rand = seeded(11);
    for (let i = 0; i < 20000; i++) {
      const octets = [rand(260), rand(256), rand(256), rand(4) === 0 ? 0 : rand(256)];
      const prefix = rand(3) === 0 ? '' : `/${rand(34)}`;
      const lead = rand(50) === 0 ? '0' : '';
      const text = `${lead}${octets.join('.')}${prefix}`;
      const general = outcome(() => parseCidrGeneral(text));
      expect(outcome(() => { const c = parseCidrCached(text); if (c instanceof Error) throw c; return c; }), text).toEqual(general);
      const s = scanV4(text);
      if (s) expect({ key: s.key, prefix: s.prefix, addr: BigInt(s.value) }, text).toEqual({ key: (general as Cidr).key, prefix: (general as Cidr).prefix, addr: (general as Cidr).addr });
    }
  });

  it('leaves spellings the scanners do not read to the general path, and caches its errors', () => {
    for (const t of ['010.0.0.1', '192.0.2.0/0', '10.0.0.1/8', ' 10.0.0.1', '1.2.3', '1.2.3.4/032']) expect(scanV4(t), t).toBeUndefined();
    expect(parseCidrCached('192.0.2.1/32')).toMatchObject({ key: '192.0.2.1' });
    expect(parseCidrCached('::ffff:192.0.2.1')).toMatchObject({ key: '192.0.2.1', family: 4 });
    expect(parseCidrCached('10.0.0.1/8')).toMatchObject({ code: 'E_CIDR_HOST_BITS' });
    expect(parseCidrCached('10.0.0.1/8')).toBe(parseCidrCached('10.0.0.1/8'));
    expect(tryParseCidr('2001:DB8::/32')).toMatchObject({ key: '2001:db8::/32' });
  });
});

describe('formatV6Groups', () => {
  it('writes what ipaddr.js writes for RFC 5952 (zero runs, ties, no run of one)', () => {
    const rand = seeded(3);
    const fixed = [[0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 2, 0, 0, 3, 4], [1, 0, 2, 0, 3, 0, 4, 0], [0, 0, 1, 0, 0, 0, 1, 0], [0xffff, 0, 0, 0, 0, 0, 0, 1]];
    for (let i = 0; i < 3000; i++) fixed.push(Array.from({ length: 8 }, () => (rand(2) === 0 ? 0 : rand(65536))));
    for (const g of fixed) expect(formatV6Groups(g), g.join(',')).toBe(new ipaddr.IPv6(g).toRFC5952String());
  });
});

describe('parseCidr on IPv6 spellings', () => {
  it('agrees with the general path on random addresses, spellings (upper case, padded, mapped) and prefixes', () => {
    const rand = seeded(5);
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    for (let i = 0; i < 20000; i++) {
      const groups = Array.from({ length: 8 }, () => (rand(3) === 0 ? 0 : rand(65536)));
      if (rand(10) === 0) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
      const canonical = new ipaddr.IPv6(groups).toRFC5952String();
      const spelled = pick([canonical, canonical.toUpperCase(), groups.map((n) => n.toString(16)).join(':'), groups.map((n) => n.toString(16).padStart(4, '0')).join(':')]);
      const text = spelled + pick(['', '', `/${rand(130)}`, '/64', '/48', '/128']);
      expect(outcome(() => parseCidr(text)), text).toEqual(outcome(() => parseCidrGeneral(text)));
      expect(outcome(() => { const c = parseCidrCached(text); if (c instanceof Error) throw c; return c; }), text).toEqual(outcome(() => parseCidrGeneral(text)));
    }
  });
});
