import { describe, it, expect } from 'vitest';
import { classifyDrift, diff, isEmptyPlan } from '../../../controller/plan/diff.js';
import { familyOf } from '../../../controller/net/cidr.js';
import type { DesiredEntry, ObservedEntry } from '../../../controller/targets/types.js';

const want = (...keys: string[]): DesiredEntry[] => keys.map((cidr) => ({ cidr, family: familyOf(cidr) }));
const have = (...keys: string[]): ObservedEntry[] => keys.map((cidr) => ({ cidr, family: familyOf(cidr) }));
const keys = (xs: { cidr: string }[]): string[] => xs.map((x) => x.cidr);

describe('diff', () => {
  const cases: { name: string; desired: string[]; observed: string[]; add: string[]; remove: string[] }[] = [
    { name: 'both empty', desired: [], observed: [], add: [], remove: [] },
    { name: 'cold start adds everything', desired: ['192.0.2.1', '2001:db8::/48'], observed: [], add: ['192.0.2.1', '2001:db8::/48'], remove: [] },
    { name: 'empty desired removes everything owned', desired: [], observed: ['198.51.100.7'], add: [], remove: ['198.51.100.7'] },
    { name: 'in sync is a no-op', desired: ['192.0.2.1', '203.0.113.0/24'], observed: ['203.0.113.0/24', '192.0.2.1'], add: [], remove: [] },
    { name: 'one in, one out', desired: ['192.0.2.1', '192.0.2.2'], observed: ['192.0.2.2', '192.0.2.3'], add: ['192.0.2.1'], remove: ['192.0.2.3'] },
    { name: 'a network and a host inside it are different keys', desired: ['10.0.0.0/8'], observed: ['10.1.2.3'], add: ['10.0.0.0/8'], remove: ['10.1.2.3'] },
    { name: 'IPv4 and IPv6 mixed', desired: ['2001:db8::1', '192.0.2.9'], observed: ['2001:db8::2'], add: ['2001:db8::1', '192.0.2.9'], remove: ['2001:db8::2'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = diff(want(...c.desired), have(...c.observed));
      expect(keys(plan.add)).toEqual(c.add);
      expect(keys(plan.remove)).toEqual(c.remove);
      expect(isEmptyPlan(plan)).toBe(c.add.length + c.remove.length === 0);
    });
  }

  it('removes each raw spelling of a key once, keeping the raw text for the driver', () => {
    const observed: ObservedEntry[] = [
      { cidr: '2001:db8::1', family: 6, raw: '2001:DB8::1' },
      { cidr: '2001:db8::1', family: 6, raw: '2001:db8:0::1' },
      { cidr: '2001:db8::1', family: 6, raw: '2001:DB8::1' },
    ];
    expect(diff([], observed).remove.map((r) => r.raw)).toEqual(['2001:DB8::1', '2001:db8:0::1']);
  });

  it('keeps the desired entry fields in the plan (drivers write comments from them)', () => {
    const plan = diff([{ cidr: '192.0.2.1', family: 4, expires: '2026-11-25T12:00:00Z', by: 'web1', jail: 'sshd' }], []);
    expect(plan.add[0]).toEqual({ cidr: '192.0.2.1', family: 4, expires: '2026-11-25T12:00:00Z', by: 'web1', jail: 'sshd' });
  });

  it('applying the plan to the observed set gives exactly the desired set', () => {
    const desired = want('192.0.2.1', '192.0.2.2', '2001:db8::/32');
    const observed = have('192.0.2.2', '198.51.100.1', '2001:db8::/48');
    const plan = diff(desired, observed);
    const after = new Set(keys(observed));
    for (const a of plan.add) after.add(a.cidr);
    for (const r of plan.remove) after.delete(r.cidr);
    expect([...after].sort()).toEqual(keys(desired).sort());
    expect(isEmptyPlan(diff(desired, have(...after)))).toBe(true);
  });
});

describe('classifyDrift', () => {
  it('an add of an entry desired last run is drift (someone deleted it)', () => {
    const plan = diff(want('192.0.2.1', '192.0.2.2'), have());
    expect(classifyDrift(plan, new Set(['192.0.2.1']))).toEqual({ readded: 1, removed: 0 });
  });
  it('a removal of an entry never desired is drift (someone added it); a ledger unban is not', () => {
    const plan = diff(want(), have('192.0.2.1', '192.0.2.66'));
    expect(classifyDrift(plan, new Set(['192.0.2.1']))).toEqual({ readded: 0, removed: 1 });
  });
  it('without a baseline there is no drift to report', () => {
    expect(classifyDrift(diff(want('192.0.2.1'), have('192.0.2.2')), undefined)).toEqual({ readded: 0, removed: 0 });
  });
});

describe('diff: duplicates and a property check', () => {
  it('a key desired twice is added once and never removed', () => {
    const plan = diff(want('192.0.2.1', '192.0.2.1', '192.0.2.2'), have('192.0.2.2', '192.0.2.3'));
    expect(keys(plan.add)).toEqual(['192.0.2.1']);
    expect(keys(plan.remove)).toEqual(['192.0.2.3']);
    expect(keys(diff(want('192.0.2.2', '192.0.2.2'), have('192.0.2.2', '192.0.2.3')).remove)).toEqual(['192.0.2.3']);
  });

  it('matches a naive set difference on random inputs', () => {
    let seed = 42;
    const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    for (let round = 0; round < 200; round++) {
      const pool = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? `2001:db8::${i}` : `192.0.2.${i}`));
      const d = Array.from({ length: rnd(10) }, () => pool[rnd(12)]!);
      const o = Array.from({ length: rnd(10) }, () => pool[rnd(12)]!);
      const plan = diff(want(...d), have(...o));
      const dset = new Set(d);
      const oset = new Set(o);
      expect(new Set(keys(plan.add))).toEqual(new Set(d.filter((k) => !oset.has(k))));
      expect(keys(plan.add)).toHaveLength(new Set(keys(plan.add)).size);
      expect(new Set(keys(plan.remove))).toEqual(new Set(o.filter((k) => !dset.has(k))));
    }
  });
});

describe('diff against its definition, on lists that share a prefix', () => {
  // The definition: add = desired keys not observed (once, desired order); remove = observed
  // entries whose key is not desired (each raw spelling once, observed order).
  const reference = (desired: DesiredEntry[], observed: ObservedEntry[]) => {
    const o = new Set(observed.map((x) => x.cidr));
    const d = new Set(desired.map((x) => x.cidr));
    const queued = new Set<string>();
    const add = desired.filter((x) => !o.has(x.cidr) && !queued.has(x.cidr) && queued.add(x.cidr));
    const seen = new Set<string>();
    const remove = observed.filter((x) => !d.has(x.cidr) && !seen.has(x.raw ?? x.cidr) && seen.add(x.raw ?? x.cidr));
    return { add, remove };
  };

  it('gives exactly the definition\'s plan, for few and for many changes after the prefix', () => {
    let seed = 11;
    const r = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const key = (i: number) => `10.0.${i >> 8}.${i & 255}`;
    for (let t = 0; t < 400; t++) {
      const size = 1 + r(60);
      const base = Array.from({ length: size }, (_, i) => key(i));
      const desired = want(...base.filter(() => r(10) > 0));
      const observed = have(...base.filter(() => r(10) > 0));
      // sometimes the same lists, sometimes duplicates and foreign keys after a long shared run
      if (r(3) === 0) observed.splice(0, observed.length, ...desired.map((d) => ({ cidr: d.cidr, family: d.family })));
      if (r(4) === 0) desired.push(...want(key(r(size)), key(300 + r(40))));
      if (r(4) === 0) observed.push({ cidr: key(r(size)), family: 4, raw: 'x' }, ...have(key(400 + r(40))));
      if (r(5) === 0) for (let i = 0; i < 30; i++) observed.push(...have(key(500 + i)));
      expect(diff(desired, observed), `case ${t}`).toEqual(reference(desired, observed));
    }
  });

  it('adds a key at the end of a list that is otherwise the same, and removes nothing', () => {
    const keysN = Array.from({ length: 5000 }, (_, i) => `11.0.${i >> 8}.${i & 255}`);
    const plan = diff(want(...keysN, '12.0.0.1'), have(...keysN));
    expect(keys(plan.add)).toEqual(['12.0.0.1']);
    expect(plan.remove).toEqual([]);
    expect(diff(want(...keysN), have(...keysN))).toEqual({ add: [], remove: [] });
    // a key of the shared prefix listed again later is not added
    expect(diff(want(...keysN, keysN[7]!), have(...keysN))).toEqual({ add: [], remove: [] });
    expect(diff(want(...keysN), have(...keysN, keysN[9]!))).toEqual({ add: [], remove: [] });
  });
});
