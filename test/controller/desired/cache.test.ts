import { describe, it, expect } from 'vitest';
import { buildCache, cacheUsable, liveFromCache, protectedKeyOf } from '../../../controller/desired/cache.js';
import { desiredSet } from '../../../controller/desired/desired-set.js';
import { DEFAULT_POLICY, type Ledger } from '../../../controller/ledger/types.js';

const T0 = new Date('2027-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const ledger: Ledger = {
  bans: [
    { cidr: '192.0.2.1', expires: iso(at(10)), by: 'web1', jail: 'sshd' },
    { cidr: '192.0.2.2', expires: iso(at(-10)), by: 'web1', jail: 'sshd' },
    { cidr: '192.0.2.3', by: 'alice' },
    { cidr: '198.51.100.0/24', expires: iso(at(30)), jail: 'postfix' },
    { cidr: '203.0.113.7' },
    { cidr: '10.0.0.0/8' },
    { cidr: '2001:db8::/48', expires: iso(at(20)), by: 'mail1' },
  ],
  allow: [{ cidr: '203.0.113.0/28' }],
  policy: DEFAULT_POLICY,
  targets: [],
  source: { dir: '/x', rev: 'abc' },
};

function counts(skipped: { reason: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of skipped) out[s.reason] = (out[s.reason] ?? 0) + 1;
  return out;
}

describe('desired-set cache', () => {
  const prot = ['10.1.2.3'];
  const fresh = desiredSet(ledger, T0, prot);
  const cache = buildCache('abc', ledger, protectedKeyOf(prot), T0, fresh.entries, counts(fresh.skipped));

  it('at any later moment it gives exactly what desiredSet computes from the ledger', () => {
    for (const s of [0, 5, 10, 11, 25, 31, 3600]) {
      const now = at(s);
      const want = desiredSet(ledger, now, prot);
      const got = liveFromCache(JSON.parse(JSON.stringify(cache)), now);
      expect(got.entries).toEqual(want.entries);
      expect(got.skipped).toEqual(counts(want.skipped));
      expect(got.nextExpiry).toEqual(want.nextExpiry);
    }
  });

  it('answers only for the same commit, the same protection and a clock not earlier than its own', () => {
    expect(cacheUsable(cache, 'abc', protectedKeyOf(['10.1.2.3']), at(1))).toBe(true);
    expect(cacheUsable(cache, 'def', protectedKeyOf(['10.1.2.3']), at(1))).toBe(false);
    expect(cacheUsable(cache, 'abc', protectedKeyOf(['10.1.2.3', '192.0.2.3']), at(1))).toBe(false);
    expect(cacheUsable(cache, 'abc', protectedKeyOf(['10.1.2.3']), at(-1))).toBe(false);
    expect(cacheUsable(undefined, 'abc', '', at(1))).toBe(false);
  });

  it('the protection key does not depend on order', () => {
    expect(protectedKeyOf(['b', 'a'])).toBe(protectedKeyOf(['a', 'b']));
  });

  it('stores repeated by/jail values once', () => {
    expect(cache.dict.sort()).toEqual(['alice', 'mail1', 'postfix', 'sshd', 'web1']);
  });
});
