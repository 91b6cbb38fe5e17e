import { describe, it, expect } from 'vitest';
import { guardRemovals, removalLimit } from '../../../controller/plan/removal-guard.js';
import { parseProtected, partitionProtected } from '../../../controller/desired/protected-ranges.js';
import { filterProtected } from '../../helpers/protected-oracle.js';
import { familyOf, parseCidr, widen } from '../../../controller/net/cidr.js';
import type { Plan } from '../../../controller/targets/types.js';

function planRemoving(n: number, add = 0): Plan {
  const entry = (i: number) => ({ cidr: `198.51.100.${i}`, family: 4 as const });
  return { add: Array.from({ length: add }, (_, i) => entry(200 + i)), remove: Array.from({ length: n }, (_, i) => entry(i)) };
}

describe('removalLimit', () => {
  const cases: [string | number, number, number | undefined][] = [
    ['50%', 100, 50],
    ['50%', 20, 10],
    ['50%', 19, undefined], // small targets: a percentage is meaningless
    ['50%', 0, undefined],
    ['10%', 1000, 100],
    ['100%', 40, 40],
    [5, 3, 5], // an absolute count applies whatever the target holds
    [0, 100, 0],
    ['7', 100, 7],
  ];
  for (const [policy, held, max] of cases) {
    it(`${JSON.stringify(policy)} of ${held} held → ${max ?? 'no limit'}`, () => {
      expect(removalLimit(policy, held).max).toBe(max);
    });
  }
});

describe('guardRemovals', () => {
  it('allows removals within the limit', () => {
    const v = guardRemovals(planRemoving(50), 100, '50%', false);
    expect(v.ok).toBe(true);
    expect(v.plan.remove).toHaveLength(50);
  });
  it('refuses removals over the limit, keeping the adds, and says how to proceed', () => {
    const v = guardRemovals(planRemoving(51, 2), 100, '50%', false);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.plan.remove).toEqual([]);
    expect(v.plan.add).toHaveLength(2);
    expect(v.held).toHaveLength(51);
    expect(v.message).toMatch(/refusing to remove 51 of 100 entries.*maxRemovePerRun 50% allows 50.*--force/);
  });
  it('--force lets the whole plan through', () => {
    const v = guardRemovals(planRemoving(100), 100, '50%', true);
    expect(v.ok).toBe(true);
    expect(v.plan.remove).toHaveLength(100);
  });
  it('emptying a small target is allowed under the default percentage', () => {
    expect(guardRemovals(planRemoving(19), 19, '50%', false).ok).toBe(true);
  });
  it('an absolute limit applies to small targets too', () => {
    expect(guardRemovals(planRemoving(3), 3, 2, false).ok).toBe(false);
  });
});

describe('filterProtected', () => {
  const entries = ['10.0.0.0/8', '192.0.2.7', '198.51.100.0/24', '2001:db8::/32', '2001:db9::1'].map((cidr) => ({ cidr, family: familyOf(cidr) }));
  it('drops entries covering or inside a protected address, keeps the rest', () => {
    const prot = parseProtected(['10.1.2.3', '198.51.100.0/25', '2001:db8::5']);
    const { kept, skipped } = filterProtected(entries, prot);
    expect(kept.map((e) => e.cidr)).toEqual(['192.0.2.7', '2001:db9::1']);
    expect(skipped.map((s) => s.cidr)).toEqual(['10.0.0.0/8', '198.51.100.0/24', '2001:db8::/32']);
    expect(skipped.every((s) => s.reason === 'protected')).toBe(true);
    expect(skipped[0]!.detail).toBe('covers protected 10.1.2.3');
  });
  it('ignores protected values that are not addresses, and duplicates', () => {
    const prot = parseProtected(['fe80::1%eth0', 'not-an-ip', '192.0.2.7', '192.0.2.7']);
    expect(prot.map((p) => p.key)).toEqual(['192.0.2.7']);
    expect(filterProtected(entries, prot).kept).toHaveLength(4);
  });
  it('no protected addresses keeps everything', () => {
    expect(filterProtected(entries, []).kept).toHaveLength(5);
  });
});

describe('partitionProtected (linear) agrees with filterProtected (pairwise)', () => {
  it('on random bans and protected addresses and networks, both families', () => {
    let seed = 7;
    let hits = 0;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const v4 = (p: number) => canonicalNet(`10.${rnd(4)}.${rnd(4)}.${rnd(4)}`, p);
    const v6 = (p: number) => canonicalNet(`2001:db8:${rnd(3)}::${rnd(3)}`, p);
    for (let round = 0; round < 300; round++) {
      const bans = new Map<string, { cidr: string; family: 4 | 6 }>();
      for (let i = 0; i < 15; i++) {
        const cidr = rnd(2) ? v4([8, 16, 24, 30, 32][rnd(5)]!) : v6([32, 48, 64, 128][rnd(4)]!);
        bans.set(cidr, { cidr, family: familyOf(cidr) });
      }
      const prot = parseProtected(Array.from({ length: rnd(4) }, () => (rnd(2) ? v4([32, 32, 24][rnd(3)]!) : v6([128, 128, 56][rnd(3)]!))));
      const fast = partitionProtected([...bans.values()], prot);
      const slow = filterProtected([...bans.values()], prot);
      expect(fast.kept.map((b) => b.cidr)).toEqual(slow.kept.map((b) => b.cidr));
      expect(fast.skipped.map((s) => s.cidr)).toEqual(slow.skipped.map((s) => s.cidr));
      hits += fast.skipped.length;
    }
    expect(hits).toBeGreaterThan(100); // the comparison is not vacuous
  });
});

function canonicalNet(addr: string, prefix: number): string {
  return widen(parseCidr(addr), prefix).key;
}
