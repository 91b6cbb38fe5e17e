import { describe, it, expect } from 'vitest';
import { desiredSet } from '../../../controller/desired/desired-set.js';
import { DEFAULT_POLICY, type BanEntry, type Ledger } from '../../../controller/ledger/types.js';

function ledger(bans: BanEntry[], allow: string[] = [], policy: Partial<Ledger['policy']> = {}): Ledger {
  return { bans, allow: allow.map((cidr) => ({ cidr })), policy: { ...DEFAULT_POLICY, ...policy }, targets: [], source: { dir: '/l' } };
}

const NOW = new Date('2026-11-22T09:00:00Z');

describe('desiredSet', () => {
  const table: { name: string; bans: BanEntry[]; allow?: string[]; protect?: string[]; policy?: Partial<Ledger['policy']>; live: string[]; skipped: [string, string][] }[] = [
    { name: 'permanent and future bans are live', bans: [{ cidr: '198.51.100.7' }, { cidr: '203.0.113.0/24', expires: '2026-11-22T10:00:00Z' }], live: ['198.51.100.7', '203.0.113.0/24'], skipped: [] },
    { name: 'a ban expiring exactly now is expired', bans: [{ cidr: '198.51.100.7', expires: '2026-11-22T09:00:00Z' }], live: [], skipped: [['198.51.100.7', 'expired']] },
    { name: 'a ban expired a second ago is expired', bans: [{ cidr: '198.51.100.7', expires: '2026-11-22T08:59:59Z' }], live: [], skipped: [['198.51.100.7', 'expired']] },
    { name: 'a ban inside an allow entry is skipped', bans: [{ cidr: '192.0.2.5' }], allow: ['192.0.2.0/28'], live: [], skipped: [['192.0.2.5', 'allowlisted']] },
    { name: 'a ban broader than an allow entry is skipped whole', bans: [{ cidr: '192.0.2.0/24' }, { cidr: '198.51.100.1' }], allow: ['192.0.2.16/28'], live: ['198.51.100.1'], skipped: [['192.0.2.0/24', 'allowlisted']] },
    { name: 'allowlisting is per family', bans: [{ cidr: '2001:db8::/32' }], allow: ['192.0.2.0/24'], live: ['2001:db8::/32'], skipped: [] },
    { name: 'broader than the policy is skipped', bans: [{ cidr: '10.0.0.0/7' }, { cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/31' }], live: ['10.0.0.0/8'], skipped: [['10.0.0.0/7', 'too-broad'], ['2001:db8::/31', 'too-broad']] },
    { name: 'a stricter policy', bans: [{ cidr: '203.0.113.0/24' }, { cidr: '203.0.113.128/25' }], policy: { broadestPrefix: { ipv4: 25, ipv6: 64 } }, live: ['203.0.113.128/25'], skipped: [['203.0.113.0/24', 'too-broad']] },
    { name: 'protected addresses are never banned', bans: [{ cidr: '198.51.100.0/24' }, { cidr: '203.0.113.9' }], protect: ['198.51.100.10'], live: ['203.0.113.9'], skipped: [['198.51.100.0/24', 'protected']] },
    { name: 'expiry is checked before the allowlist', bans: [{ cidr: '192.0.2.5', expires: '2026-11-01T00:00:00Z' }], allow: ['192.0.2.0/24'], live: [], skipped: [['192.0.2.5', 'expired']] },
  ];

  for (const c of table) {
    it(c.name, () => {
      const d = desiredSet(ledger(c.bans, c.allow, c.policy), NOW, c.protect);
      expect(d.entries.map((e) => e.cidr)).toEqual(c.live);
      expect(d.skipped.map((s) => [s.cidr, s.reason])).toEqual(c.skipped);
    });
  }

  it('sorts by address, IPv4 before IPv6, and carries family, expiry, by, jail, at, count', () => {
    const d = desiredSet(ledger([
      { cidr: '2001:db8::1', by: 'mail1' },
      { cidr: '203.0.113.0/24', jail: 'sshd', reason: 'x', count: 2 },
      { cidr: '198.51.100.7', expires: '2026-12-01T00:00:00Z', at: '2026-11-01T00:00:00Z' },
    ]), NOW);
    expect(d.entries).toEqual([
      { cidr: '198.51.100.7', family: 4, expires: '2026-12-01T00:00:00Z', at: '2026-11-01T00:00:00Z' },
      { cidr: '203.0.113.0/24', family: 4, jail: 'sshd', count: 2 },
      { cidr: '2001:db8::1', family: 6, by: 'mail1' },
    ]);
  });

  it('nextExpiry is the earliest future expiry among enforced entries', () => {
    const d = desiredSet(ledger([
      { cidr: '198.51.100.1', expires: '2026-11-22T12:00:00Z' },
      { cidr: '198.51.100.2', expires: '2026-11-22T10:00:00Z' },
      { cidr: '198.51.100.3', expires: '2026-11-22T08:00:00Z' },
      { cidr: '192.0.2.1', expires: '2026-11-22T09:30:00Z' },
    ], ['192.0.2.0/24']), NOW);
    expect(d.nextExpiry).toEqual(new Date('2026-11-22T10:00:00Z'));
    expect(desiredSet(ledger([{ cidr: '198.51.100.1' }]), NOW).nextExpiry).toBeUndefined();
  });

  it('the skip detail says why a broader ban is not enforced', () => {
    const d = desiredSet(ledger([{ cidr: '192.0.2.0/24' }], ['192.0.2.0/28']), NOW);
    expect(d.skipped[0]!.detail).toBe('contains allowlisted 192.0.2.0/28; the whole ban is skipped');
  });

  it('the same ledger at two moments: TTLs pass without any change to the ledger', () => {
    const l = ledger([{ cidr: '198.51.100.1', expires: '2026-11-22T10:00:00Z' }]);
    expect(desiredSet(l, new Date('2026-11-22T09:59:59Z')).entries).toHaveLength(1);
    expect(desiredSet(l, new Date('2026-11-22T10:00:00Z')).entries).toHaveLength(0);
  });
});
