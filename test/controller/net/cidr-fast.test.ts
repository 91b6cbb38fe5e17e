import { describe, expect, it } from 'vitest';
import { parseCidr, widen, type Cidr } from '../../../controller/net/cidr.js';
import { fastCidr, fastKey } from '../../../controller/net/cidr-fast.js';

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

describe('fastCidr', () => {
  it('agrees with parseCidr, result or error, on tricky spellings', () => {
    for (const t of SAME) {
      expect(outcome(() => fastCidr(t)), t).toEqual(outcome(() => parseCidr(t)));
      expect(outcome(() => fastKey(t) as unknown as Cidr), t).toEqual(outcome(() => keyOf(parseCidr(t)) as unknown as Cidr));
    }
  });

  it('agrees with parseCidr on random addresses and prefixes', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 3000; i++) {
      const v4 = `${rand(256)}.${rand(256)}.${rand(256)}.${rand(256)}${rand(2) ? `/${rand(34)}` : ''}`;
      const groups = Array.from({ length: 8 }, () => (rand(3) === 0 ? 0 : rand(65536)).toString(16));
      const v6 = `${parseCidr(groups.join(':')).key}${rand(2) ? `/${rand(130)}` : ''}`;
      for (const t of [v4, v6]) expect(outcome(() => fastCidr(t)), t).toEqual(outcome(() => parseCidr(t)));
      // and on valid networks of every prefix length, the case the kernel prints
      const net4 = widen(parseCidr(v4.split('/')[0]!), 1 + rand(32)).key;
      const net6 = widen(parseCidr(v6.split('/')[0]!), 1 + rand(128)).key;
      for (const t of [net4, net6]) {
        expect(fastCidr(t), t).toEqual(parseCidr(t));
        expect(fastKey(t), t).toEqual(keyOf(parseCidr(t)));
      }
      for (const t of [v4, v6]) expect(outcome(() => fastKey(t) as unknown as Cidr), t).toEqual(outcome(() => keyOf(parseCidr(t)) as unknown as Cidr));
    }
  });
});
