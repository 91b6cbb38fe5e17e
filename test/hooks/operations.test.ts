import { describe, it, expect } from 'vitest';
import { applyOperations, escalatedTtl, refusal, targetCidr, type Operation } from '../../hooks/operations.js';
import { parseCidr } from '../../controller/net/cidr.js';
import { DEFAULT_POLICY, type BanEntry } from '../../controller/ledger/types.js';

const NOW = new Date('2026-11-25T10:00:00Z');
const policy = { ...DEFAULT_POLICY, banPrefix: { ipv4: 32, ipv6: 64 }, escalation: { factor: 2, maxTtl: '1d' } };
const ctx = { policy, allow: [{ cidr: '192.0.2.0/28' }, { cidr: '2001:db8:1::/64' }], now: NOW };

let n = 0;
function op(fields: Partial<Operation>): Operation {
  n++;
  return { v: 1, id: `${String(1_700_000_000_000 + n)}-web1-x${n}`, op: 'ban', cidr: '198.51.100.7', at: '2026-11-25T10:00:00Z', by: 'web1', host: 'web1', jail: 'sshd', ttl: 3600, widen: true, escalate: true, ...fields };
}

describe('applyOperations', () => {
  it('adds a new ban with expiry at + ttl and count 1', () => {
    const { bans, results } = applyOperations([], [op({})], ctx);
    expect(bans).toEqual([{ cidr: '198.51.100.7', expires: '2026-11-25T11:00:00Z', at: '2026-11-25T10:00:00Z', by: 'web1', jail: 'sshd', count: 1 }]);
    expect(results[0]!.outcome).toBe('added');
  });

  it('upserts a repeat offender: count +1, escalated TTL (base × 2^(count−1))', () => {
    const existing: BanEntry[] = [{ cidr: '198.51.100.7', expires: '2026-11-25T10:30:00Z', at: '2026-11-25T09:30:00Z', by: 'mail1', jail: 'postfix', count: 2 }];
    const { bans, results } = applyOperations(existing, [op({})], ctx);
    expect(bans[0]).toMatchObject({ count: 3, by: 'web1', jail: 'sshd', expires: '2026-11-25T14:00:00Z' });
    expect(results[0]!.ttl).toBe(4 * 3600);
  });

  it('keeps the later expiry when the existing ban outlasts the new one', () => {
    const existing: BanEntry[] = [{ cidr: '198.51.100.7', expires: '2026-12-01T00:00:00Z', count: 1 }];
    const { bans } = applyOperations(existing, [op({ escalate: false })], ctx);
    expect(bans[0]!.expires).toBe('2026-12-01T00:00:00Z');
    expect(bans[0]!.count).toBe(2);
  });

  it('a permanent ban (bantime -1) has no expiry and stays permanent (a policy without escalation)', () => {
    const { bans } = applyOperations([], [op({ ttl: -1 }), op({ ttl: 60 })], { ...ctx, policy: { ...policy, escalation: null } });
    expect(bans[0]!.expires).toBeUndefined();
    expect(bans[0]!.count).toBe(2);
  });

  it('caps escalation at maxTtl', () => {
    expect(escalatedTtl(3600, 10, { factor: 2, maxTtl: '1d' })).toBe(86400);
    expect(escalatedTtl(3600, 1, { factor: 2, maxTtl: '1d' })).toBe(3600);
    expect(escalatedTtl(-1, 5, { factor: 2, maxTtl: '1d' })).toBe(-1);
    expect(escalatedTtl(3600, 3, null)).toBe(3600);
  });

  it('widens an IPv6 host to the policy banPrefix', () => {
    const { bans } = applyOperations([], [op({ cidr: '2001:db8:aa::17' })], ctx);
    expect(bans[0]!.cidr).toBe('2001:db8:aa::/64');
    expect(targetCidr({ cidr: '2001:db8:aa::17', widen: false }, policy.banPrefix).key).toBe('2001:db8:aa::17');
  });

  it('refuses allowlisted and too-broad bans and leaves the list alone', () => {
    const { bans, results } = applyOperations([], [op({ cidr: '192.0.2.5' }), op({ cidr: '2001:db8:1::9' }), op({ cidr: '10.0.0.0/7', widen: false })], ctx);
    expect(bans).toEqual([]);
    expect(results.map((r) => r.outcome)).toEqual(['refused', 'refused', 'refused']);
    expect(results[2]!.detail).toMatch(/broader than the policy/);
  });

  it('unban deletes the (widened) entry; unban of an absent entry is a no-op', () => {
    const existing: BanEntry[] = [{ cidr: '2001:db8:aa::/64', count: 1 }, { cidr: '198.51.100.7' }];
    const { bans, results } = applyOperations(existing, [op({ op: 'unban', cidr: '2001:db8:aa::99' }), op({ op: 'unban', cidr: '203.0.113.1' })], ctx);
    expect(bans).toEqual([{ cidr: '198.51.100.7' }]);
    expect(results.map((r) => r.outcome)).toEqual(['removed', 'absent']);
  });

  it('prolong extends the expiry without counting an offence', () => {
    const existing: BanEntry[] = [{ cidr: '198.51.100.7', expires: '2026-11-25T11:00:00Z', at: '2026-11-25T10:00:00Z', by: 'web1', jail: 'sshd', count: 1 }];
    const { bans, results } = applyOperations(existing, [op({ op: 'prolong', ttl: 7200, escalate: false })], ctx);
    expect(bans[0]).toMatchObject({ expires: '2026-11-25T12:00:00Z', count: 1 });
    expect(results[0]!.outcome).toBe('updated');
    const again = applyOperations(bans, [op({ op: 'prolong', ttl: 600, escalate: false })], ctx);
    expect(again.results[0]!.outcome).toBe('unchanged');
  });

  it('a ban delivered after it already expired adds nothing (stale)', () => {
    const { bans, results } = applyOperations([], [op({ at: '2026-11-25T08:00:00Z', ttl: 600 })], ctx);
    expect(bans).toEqual([]);
    expect(results[0]!.outcome).toBe('stale');
  });

  it('uses the policy defaultTtl when a person gives none, and --until when given', () => {
    const { bans } = applyOperations([], [op({ ttl: undefined, escalate: false }), op({ cidr: '203.0.113.0/24', widen: false, until: '2027-01-01T00:00:00Z' })], ctx);
    expect(bans.find((b) => b.cidr === '198.51.100.7')!.expires).toBe('2026-11-25T11:00:00Z');
    expect(bans.find((b) => b.cidr === '203.0.113.0/24')!.expires).toBe('2027-01-01T00:00:00Z');
  });
});

describe('operations are applied by their time', () => {
  const banned = (at: string, by = 'mail1'): BanEntry => ({ cidr: '198.51.100.7', expires: '2026-11-25T12:00:00Z', at, by, jail: 'sshd', count: 1 });

  it('an unban removes only an entry banned before it', () => {
    const early = applyOperations([banned('2026-11-25T09:00:00Z')], [op({ op: 'unban', at: '2026-11-25T09:30:00Z' })], ctx);
    expect(early.bans).toEqual([]);
    expect(early.results[0]!.outcome).toBe('removed');
  });

  it('a late unban (queued on an offline host) never deletes a ban another host made after it', () => {
    const { bans, results } = applyOperations([banned('2026-11-25T09:45:00Z')], [op({ op: 'unban', at: '2026-11-25T09:30:00Z' })], ctx);
    expect(bans).toEqual([banned('2026-11-25T09:45:00Z')]);
    expect(results[0]).toMatchObject({ outcome: 'kept', detail: expect.stringContaining('banned at 2026-11-25T09:45:00Z by mail1') });
  });

  it('an entry without `at` (written by hand) is removed by any unban', () => {
    expect(applyOperations([{ cidr: '198.51.100.7' }], [op({ op: 'unban', at: '2000-01-01T00:00:00Z' })], ctx).bans).toEqual([]);
  });

  it('a ban and an unban in the same second end banned, in either order', () => {
    const T = '2026-11-25T09:50:00Z';
    const ban = op({ at: T, by: 'web1' });
    const unban = op({ op: 'unban', at: T, by: 'web2', host: 'web2' });
    const start = [banned('2026-11-25T08:00:00Z')];
    const banFirst = applyOperations(applyOperations(start, [ban], ctx).bans, [unban], ctx);
    const unbanFirst = applyOperations(applyOperations(start, [unban], ctx).bans, [ban], ctx);
    expect(banFirst.bans.map((b) => b.cidr)).toEqual(['198.51.100.7']);
    expect(unbanFirst.bans.map((b) => b.cidr)).toEqual(['198.51.100.7']);
    expect(banFirst.results[0]!.outcome).toBe('kept');
  });

  it('a host\'s hook unban lifts its own ban of the same second (it spooled the ban first)', () => {
    const T = '2026-11-25T09:50:00Z';
    const ban = op({ at: T, by: 'web1', host: 'web1' });
    const unban = op({ op: 'unban', at: T, by: 'web1', host: 'web1' });
    const after = applyOperations(applyOperations([], [ban], ctx).bans, [unban], ctx);
    expect(after.bans).toEqual([]);
    expect(after.results[0]!.outcome).toBe('removed');
  });

  it("a person's unban lifts a ban of its own second (the person saw it), never a later one", () => {
    const T = '2026-11-25T09:50:00Z';
    const person = { op: 'unban' as const, widen: undefined, by: 'bob' };
    expect(applyOperations([banned(T)], [op({ ...person, at: T })], ctx).results[0]!.outcome).toBe('removed');
    expect(applyOperations([banned('2026-11-25T09:50:01Z')], [op({ ...person, at: T })], ctx).results[0]!.outcome).toBe('kept');
  });

  it('a ban delivered after a later unban removed its entry is superseded, not re-added (time order)', () => {
    const unbannedAt = new Map([['198.51.100.7', '2026-11-25T09:40:00Z']]);
    const late = applyOperations([], [op({ at: '2026-11-25T09:30:00Z' })], { ...ctx, unbannedAt });
    expect(late.bans).toEqual([]);
    expect(late.results[0]).toMatchObject({ outcome: 'superseded', detail: expect.stringContaining('unbanned at 2026-11-25T09:40:00Z') });
    // a ban made after the unban, or in its second, is a new ban
    expect(applyOperations([], [op({ at: '2026-11-25T09:40:00Z' })], { ...ctx, unbannedAt }).results[0]!.outcome).toBe('added');
    expect(applyOperations([], [op({ at: '2026-11-25T09:41:00Z' })], { ...ctx, unbannedAt }).results[0]!.outcome).toBe('added');
  });

  it("a ban delivered late keeps the entry's newer `at` (it never moves back)", () => {
    const { bans } = applyOperations([banned('2026-11-25T09:45:00Z')], [op({ at: '2026-11-25T09:40:00Z', by: 'web1', jail: 'postfix' })], ctx);
    expect(bans[0]).toMatchObject({ at: '2026-11-25T09:45:00Z', by: 'mail1', jail: 'sshd', count: 2 });
    const after = applyOperations(bans, [op({ op: 'unban', at: '2026-11-25T09:42:00Z' })], ctx);
    expect(after.results[0]!.outcome).toBe('kept');
  });
});

describe('bounds', () => {
  it('a runaway fail2ban bantime is capped at the policy\'s maxTtl, or ten years without one', () => {
    const capped = applyOperations([], [op({ ttl: 999_999_999_999 })], ctx);
    expect(capped.bans[0]!.expires).toBe('2026-11-26T10:00:00Z');
    const noEsc = applyOperations([], [op({ ttl: 999_999_999_999 })], { ...ctx, policy: { ...policy, escalation: null } });
    expect(noEsc.bans[0]!.expires).toBe('2036-11-22T10:00:00Z');
    expect(applyOperations([], [op({ ttl: -1 })], { ...ctx, policy: { ...policy, escalation: null } }).bans[0]!.expires).toBeUndefined();
  });

  it('a permanent fail2ban ban (bantime -1) lands permanent, under escalation too; only the policy\'s maxTtl caps it', () => {
    expect(applyOperations([], [op({ ttl: -1 })], ctx).bans[0]!.expires).toBeUndefined();
    expect(applyOperations([], [op({ ttl: -1, op: 'prolong' })], ctx).bans[0]!.expires).toBeUndefined();
    const bounded = { ...ctx, policy: { ...policy, maxTtl: '2d' } };
    expect(applyOperations([], [op({ ttl: -1 })], bounded).bans[0]!.expires).toBe('2026-11-27T10:00:00Z');
    // A finite one stays capped at the smaller of escalation.maxTtl (1d here) and maxTtl.
    expect(applyOperations([], [op({ ttl: 999_999_999_999 })], bounded).bans[0]!.expires).toBe('2026-11-26T10:00:00Z');
    // A person's permanent ban stays permanent (a writer key may not write it where maxTtl is set).
    expect(applyOperations([], [op({ ttl: -1, widen: false, escalate: false })], bounded).bans[0]!.expires).toBeUndefined();
  });

  it('a person\'s ban is capped at ten years only', () => {
    const { bans } = applyOperations([], [op({ widen: false, escalate: false, ttl: 999_999_999_999, cidr: '203.0.113.0/24' }), op({ widen: false, escalate: false, ttl: 7 * 86_400 })], ctx);
    expect(bans.find((b) => b.cidr === '203.0.113.0/24')!.expires).toBe('2036-11-22T10:00:00Z');
    expect(bans.find((b) => b.cidr === '198.51.100.7')!.expires).toBe('2026-12-02T10:00:00Z');
  });

  it('fail2ban\'s own repeat count (bancount > 1) is not escalated again; a first ban here of another host\'s offender is', () => {
    const existing: BanEntry[] = [{ cidr: '198.51.100.7', expires: '2026-11-25T09:30:00Z', at: '2026-11-25T09:00:00Z', by: 'web1', jail: 'sshd', count: 1 }];
    const local = applyOperations(existing, [op({ ttl: 16, bancount: 2 })], ctx);
    expect(local.results[0]).toMatchObject({ ttl: 16, count: 2 });
    const elsewhere = applyOperations(existing, [op({ ttl: 16, bancount: 1 })], ctx);
    expect(elsewhere.results[0]).toMatchObject({ ttl: 32, count: 2 });
  });

  it('an operation that cannot be applied is refused alone; the others are applied', () => {
    const { bans, results } = applyOperations([], [
      op({ cidr: '0.0.0.0/0' }), op({ cidr: '203.0.113.9', at: 'yesterday' }), op({ cidr: '203.0.113.10', at: '+033715-01-01T00:00:00Z' }), op({ cidr: '203.0.113.11' }),
    ], ctx);
    expect(results.map((r) => r.outcome)).toEqual(['refused', 'refused', 'refused', 'added']);
    expect(results[0]!.detail).toMatch(/zero-length prefix/);
    expect(bans.map((b) => b.cidr)).toEqual(['203.0.113.11']);
  });
});

describe('refusal', () => {
  const allow = [parseCidr('192.0.2.0/28')];
  const limits = { ipv4: 8, ipv6: 32 };
  it.each([
    ['192.0.2.3', /allowlisted/],
    ['192.0.2.0/24', /allowlisted/],
    ['10.0.0.0/7', /broader/],
    ['2001:db8::/31', /broader/],
    ['0.0.0.0', /unspecified/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['239.255.0.0/16', /multicast/],
    ['127.0.0.1', /loopback/],
    ['127.0.0.0/8', /loopback/],
    ['::', /unspecified/],
    ['::/64', /loopback|unspecified/],
    ['::1', /loopback/],
    ['ff02::1', /multicast/],
  ])('%s is refused', (cidr, why) => {
    expect(refusal(parseCidr(cidr), allow, limits)).toMatch(why);
  });
  it('a plain address outside the allowlist is fine', () => {
    expect(refusal(parseCidr('192.0.2.16'), allow, limits)).toBeNull();
  });
});
