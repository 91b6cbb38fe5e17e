import { describe, expect, it } from 'vitest';
import { enforcedSet, foldCovered, rankEntries } from '../../../controller/plan/enforced-set.js';
import { parseCidr } from '../../../controller/net/cidr.js';
import type { DesiredEntry } from '../../../controller/targets/types.js';

const e = (cidr: string, extra: Partial<DesiredEntry> = {}): DesiredEntry => {
  const c = parseCidr(cidr);
  return { cidr: c.key, family: c.family, ...extra };
};
const keys = (list: readonly DesiredEntry[]): string[] => list.map((x) => x.cidr);

describe('folding covered entries', () => {
  it('leaves out entries covered by another entry, in both families', () => {
    const desired = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '11.0.0.1', '203.0.113.0/24', '203.0.113.7', '2001:db8::/32', '2001:db8:1::5', '2001:db9::1'].map((k) => e(k));
    const r = enforcedSet(desired);
    expect(keys(r.entries)).toEqual(['10.0.0.0/8', '11.0.0.1', '203.0.113.0/24', '2001:db8::/32', '2001:db9::1']);
    expect(r.folded).toBe(4);
    expect(r.leftOut).toBe(0);
  });

  it('adjacent and disjoint networks are not folded', () => {
    const desired = ['10.1.0.0/24', '10.1.1.0/24', '10.9.8.6', '10.9.8.7'].map((k) => e(k));
    expect(keys(foldCovered(desired).entries)).toEqual(keys(desired));
    expect(foldCovered(desired).folded).toBe(0);
  });

  it('a covered entry comes back when its cover is gone from the desired set', () => {
    const withCover = [e('203.0.113.0/24', { expires: '2026-01-01T00:00:00Z' }), e('203.0.113.7')];
    expect(keys(enforcedSet(withCover).entries)).toEqual(['203.0.113.0/24']);
    // the /24 expired: the next run's desired set no longer has it
    expect(keys(enforcedSet(withCover.slice(1)).entries)).toEqual(['203.0.113.7']);
  });

  it('works on unsorted input and keeps the desired order of what it keeps', () => {
    const desired = ['203.0.113.7', '198.51.100.1', '203.0.113.0/24', '2001:db8::1', '10.0.0.0/8'].map((k) => e(k));
    expect(keys(enforcedSet(desired).entries)).toEqual(['198.51.100.1', '203.0.113.0/24', '2001:db8::1', '10.0.0.0/8']);
  });

  it('entries the target bans already through members it does not own are folded too', () => {
    const desired = ['10.1.2.3', '198.51.100.1', '203.0.113.0/24', '203.0.113.7', '2001:db8::5'].map((k) => e(k));
    const r = enforcedSet(desired, undefined, { coveredElsewhere: ['203.0.113.0/24', '10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '192.0.2.0/24'] });
    expect(keys(r.entries)).toEqual(['198.51.100.1']);
    expect(r.folded).toBe(4);
    // a desired network broader than the hand-made member is still ours to enforce
    expect(keys(enforcedSet([e('10.0.0.0/8')], undefined, { coveredElsewhere: ['10.1.0.0/16'] }).entries)).toEqual(['10.0.0.0/8']);
  });

  it('an IPv4 network never covers an IPv6 entry', () => {
    const desired = [e('10.0.0.0/8'), e('::a00:1')];
    expect(enforcedSet(desired).folded).toBe(0);
  });
});

describe('capacity', () => {
  const old = (cidr: string, at: string, extra: Partial<DesiredEntry> = {}) => e(cidr, { jail: 'sshd', expires: '2027-01-01T00:00:00Z', at, ...extra });

  it('ranks permanent and manual bans first, then newest, then most offences, then latest expiry', () => {
    const list = [
      old('192.0.2.1', '2026-01-01T00:00:00Z'),
      old('192.0.2.2', '2026-06-01T00:00:00Z'),
      old('192.0.2.3', '2026-06-01T00:00:00Z', { count: 5 }),
      e('192.0.2.4', { jail: 'sshd' }), // permanent
      e('192.0.2.5', { expires: '2027-01-01T00:00:00Z', by: 'alice' }), // manual
      old('192.0.2.6', '2026-06-01T00:00:00Z', { count: 5, expires: '2027-06-01T00:00:00Z' }),
      e('192.0.2.7', { jail: 'sshd', expires: '2027-01-01T00:00:00Z' }), // no `at`: after those with one
    ];
    expect(keys(rankEntries(list))).toEqual(['192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.3', '192.0.2.2', '192.0.2.1', '192.0.2.7']);
  });

  it('enforces the most important entries that fit, in desired order, and counts the rest', () => {
    const list = [old('192.0.2.1', '2026-01-01T00:00:00Z'), old('192.0.2.2', '2026-03-01T00:00:00Z'), old('192.0.2.3', '2026-02-01T00:00:00Z'), e('192.0.2.9')];
    const r = enforcedSet(list, () => 2);
    expect(keys(r.entries)).toEqual(['192.0.2.2', '192.0.2.9']);
    expect(r).toMatchObject({ leftOut: 2, capacity: 2, folded: 0 });
  });

  it('the newest bans land in a full target: each run ranks them first', () => {
    const filler = Array.from({ length: 50 }, (_, i) => old(`10.0.${i}.1`, `2026-01-01T00:${String(i).padStart(2, '0')}:00Z`));
    const fresh = [old('198.51.100.1', '2026-02-01T00:00:00Z'), old('198.51.100.2', '2026-02-01T00:00:01Z')];
    const r = enforcedSet([...filler, ...fresh], () => 10);
    expect(keys(r.entries)).toEqual(expect.arrayContaining(['198.51.100.1', '198.51.100.2']));
    expect(r.entries).toHaveLength(10);
    expect(r.leftOut).toBe(42);
  });

  it('a cover ranks as its most important member; its members left out with it count as left out', () => {
    const list = [
      old('10.0.0.0/8', '2026-01-01T00:00:00Z'),
      old('10.1.2.3', '2026-05-01T00:00:00Z'), // makes 10/8 the newest group
      old('192.0.2.1', '2026-04-01T00:00:00Z'),
      old('192.0.2.2', '2026-03-01T00:00:00Z'),
    ];
    const r = enforcedSet(list, () => 2);
    expect(keys(r.entries)).toEqual(['10.0.0.0/8', '192.0.2.1']);
    expect(r).toMatchObject({ folded: 1, leftOut: 1 });
    const tiny = enforcedSet(list, () => 0);
    expect(tiny).toMatchObject({ entries: [], folded: 0, leftOut: 4, capacity: 0 });
  });

  it('among exact equals, what is new since the previous run comes first, then what the target holds', () => {
    const same = (k: string) => e(k, { jail: 'sshd', expires: '2027-01-01T00:00:00Z', at: '2026-01-01T00:00:00Z' });
    const list = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map(same);
    const held = () => new Set(['10.0.0.3', '10.0.0.4']);
    // nothing known about the previous run: the held ones keep their place (no churn)
    expect(keys(enforcedSet(list, () => 2, { held }).entries)).toEqual(['10.0.0.3', '10.0.0.4']);
    // 10.0.0.2 is new this run: it takes the place of a held one
    const previouslyDesired = (probe: ReadonlySet<string>) => new Set([...probe].filter((k) => k !== '10.0.0.2'));
    expect(keys(enforcedSet(list, () => 2, { held, previouslyDesired }).entries)).toEqual(['10.0.0.2', '10.0.0.3']);
    // recency still wins over both
    const newest = [...list, same('10.0.0.9')].map((x) => (x.cidr === '10.0.0.1' ? { ...x, at: '2026-06-01T00:00:00Z' } : x));
    expect(keys(enforcedSet(newest, () => 2, { held, previouslyDesired }).entries)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('the capacity function sees the folded candidates, most important first; undefined means no limit', () => {
    let seen: string[] = [];
    const r = enforcedSet([e('10.0.0.0/8'), e('10.1.1.1'), old('192.0.2.1', '2026-01-01T00:00:00Z')], (ranked) => {
      seen = keys(ranked);
      return undefined;
    });
    expect(seen).toEqual(['10.0.0.0/8', '192.0.2.1']);
    expect(r).toMatchObject({ folded: 1, leftOut: 0 });
    expect(r.capacity).toBeUndefined();
  });
});
