import { describe, expect, it } from 'vitest';
import { limitsOf, ownLimits, stricterLimits, underLimits, type GuardLimits } from '../../../controller/plan/guard-limits.js';
import { guardRemovals, strictestLimit } from '../../../controller/plan/removal-guard.js';
import { desiredSet } from '../../../controller/desired/desired-set.js';
import { DEFAULT_POLICY, type Ledger } from '../../../controller/ledger/types.js';

const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const lim = (rev: string, over: Partial<GuardLimits> = {}): GuardLimits => ({
  rev, maxRemovePerRun: '50%', broadestPrefix: { ipv4: 8, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 128 }, allow: [], ...over,
});
const ledger = (over: Partial<Ledger> = {}): Ledger => ({ bans: [], allow: [], policy: DEFAULT_POLICY, targets: [], source: { dir: '/x' }, ...over });

describe('stricterLimits', () => {
  it('nothing enforced before, or the same commit: the commit\'s own limits', () => {
    const next = lim(NEW, { maxRemovePerRun: '100%' });
    expect(stricterLimits(undefined, next)).toEqual(ownLimits(next));
    expect(stricterLimits(lim(NEW), next)).toEqual(ownLimits(next));
  });

  it('a raised maxRemovePerRun keeps the old one in force too, and says so', () => {
    const s = stricterLimits(lim(OLD), lim(NEW, { maxRemovePerRun: '100%' }));
    expect(s.maxRemovePerRun).toEqual(['100%', '50%']);
    expect(s.kept).toEqual([`maxRemovePerRun 100% is not in force yet: 50% of ${OLD.slice(0, 12)} still limits removals`]);
    expect(strictestLimit(s.maxRemovePerRun, 100).max).toBe(50);
  });

  it('a lowered maxRemovePerRun is not a loosening (it applies at once)', () => {
    const s = stricterLimits(lim(OLD, { maxRemovePerRun: 20 }), lim(NEW, { maxRemovePerRun: 5 }));
    expect(s.kept).toEqual([]);
    expect(strictestLimit(s.maxRemovePerRun, 1000).max).toBe(5);
  });

  it('a count against a percentage: the smaller count for each target size wins', () => {
    const s = stricterLimits(lim(OLD, { maxRemovePerRun: '10%' }), lim(NEW, { maxRemovePerRun: 30 }));
    expect(s.kept).toHaveLength(1);
    expect(strictestLimit(s.maxRemovePerRun, 100).max).toBe(10);
    expect(strictestLimit(s.maxRemovePerRun, 1000).max).toBe(30);
    // under 20 entries a percentage does not apply; the count still does
    expect(strictestLimit(s.maxRemovePerRun, 10).max).toBe(30);
  });

  it('prefix bounds: the narrower of the two, per family', () => {
    const s = stricterLimits(lim(OLD, { broadestPrefix: { ipv4: 16, ipv6: 32 }, banPrefix: { ipv4: 32, ipv6: 64 } }), lim(NEW, { broadestPrefix: { ipv4: 0, ipv6: 48 }, banPrefix: { ipv4: 24, ipv6: 128 } }));
    expect(s.broadestPrefix).toEqual({ ipv4: 16, ipv6: 48 });
    expect(s.banPrefix).toEqual({ ipv4: 32, ipv6: 128 });
    expect(s.kept).toEqual([
      `broadestPrefix.ipv4 /0 is not in force yet: /16 of ${OLD.slice(0, 12)} applies`,
      `banPrefix.ipv4 /24 is not in force yet: /32 of ${OLD.slice(0, 12)} applies`,
    ]);
  });

  it('the allowlist: the union of both; entries the new commit drops still apply', () => {
    const s = stricterLimits(lim(OLD, { allow: ['192.0.2.0/24', '198.51.100.7'] }), lim(NEW, { allow: ['198.51.100.7', '203.0.113.0/24'] }));
    expect(s.allow.sort()).toEqual(['192.0.2.0/24', '198.51.100.7', '203.0.113.0/24']);
    expect(s.kept).toEqual([`1 allowlist entry removed since ${OLD.slice(0, 12)} still applies (192.0.2.0/24)`]);
  });

  it('a commit that only tightens keeps nothing back', () => {
    const s = stricterLimits(lim(OLD), lim(NEW, { maxRemovePerRun: '10%', broadestPrefix: { ipv4: 16, ipv6: 48 }, allow: ['192.0.2.0/24'] }));
    expect(s.kept).toEqual([]);
    expect(s.broadestPrefix).toEqual({ ipv4: 16, ipv6: 48 });
  });
});

describe('under the stricter limits', () => {
  it('the desired set skips a ban inside the old allowlist and one broader than the old bound', () => {
    const next = ledger({ bans: [{ cidr: '192.0.2.9' }, { cidr: '10.0.0.0/7' }, { cidr: '203.0.113.1' }], policy: { ...DEFAULT_POLICY, broadestPrefix: { ipv4: 0, ipv6: 0 } } });
    const limits = stricterLimits(lim(OLD, { allow: ['192.0.2.0/24'] }), limitsOf(NEW, next));
    const d = desiredSet(underLimits(next, limits), new Date('2027-01-01T00:00:00Z'));
    expect(d.entries.map((e) => e.cidr)).toEqual(['203.0.113.1']);
    expect(d.skipped.map((s) => s.reason).sort()).toEqual(['allowlisted', 'too-broad']);
    // the commit's own limits would enforce all three
    expect(desiredSet(next, new Date('2027-01-01T00:00:00Z')).entries).toHaveLength(3);
  });

  it('the removal guard refuses a plan the old limit refuses, though the new limit allows it', () => {
    const plan = { add: [], remove: Array.from({ length: 30 }, (_, i) => ({ cidr: `198.51.100.${i + 1}`, family: 4 as const })) };
    expect(guardRemovals(plan, 30, ['100%'], false).ok).toBe(true);
    const v = guardRemovals(plan, 30, ['100%', '50%'], false);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.message).toMatch(/maxRemovePerRun 50% allows 15/);
  });
});
