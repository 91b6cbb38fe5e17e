import { describe, expect, it } from 'vitest';
import { compareEnforced } from '../../../controller/review/enforced.js';
import { DEFAULT_POLICY, type BanEntry, type Ledger } from '../../../controller/ledger/types.js';

const AT = new Date('2026-11-25T12:00:00Z');

function ledger(bans: BanEntry[], allow: string[] = [], broadest = DEFAULT_POLICY.broadestPrefix): Ledger {
  return { bans, allow: allow.map((cidr) => ({ cidr, reason: 'mgmt' })), policy: { ...DEFAULT_POLICY, broadestPrefix: broadest }, targets: [], source: { dir: '' } };
}

describe('compareEnforced', () => {
  it('names why an entry starts being enforced, and finds the ones the base held back', () => {
    const bans: BanEntry[] = [
      { cidr: '192.0.2.5', by: 'x' },
      { cidr: '10.0.0.0/7' },
      { cidr: '198.51.100.7', expires: '2026-11-30T00:00:00Z' },
    ];
    const base = ledger([...bans.slice(0, 2), { cidr: '198.51.100.7', expires: '2026-11-20T00:00:00Z' }], ['192.0.2.0/28']);
    const head = ledger([...bans, { cidr: '203.0.113.1' }], ['192.0.2.0/30'], { ipv4: 4, ipv6: 32 });
    const d = compareEnforced(base, head, AT);
    expect(d.at).toBe('2026-11-25T12:00:00Z');
    expect(d.newlyEnforced.map((c) => [c.cidr, c.reason])).toEqual([
      ['10.0.0.0/7', 'policy-loosened'],
      ['192.0.2.5', 'allowlist-narrowed'],
      ['198.51.100.7', 'expiry-extended'],
      ['203.0.113.1', 'added'],
    ]);
    expect(d.findings).toEqual([
      { cidr: '10.0.0.0/7', detail: "broader than the base policy's broadestPrefix /8" },
      { cidr: '192.0.2.5', detail: 'inside base allowlisted 192.0.2.0/28 (mgmt)' },
    ]);
    expect(d.noLongerEnforced).toEqual([]);
  });

  it('finds a new ban inside the base allowlist when the same change drops the allow entry', () => {
    const d = compareEnforced(ledger([], ['192.0.2.0/28']), ledger([{ cidr: '192.0.2.0/29' }]), AT);
    expect(d.newlyEnforced.map((c) => c.reason)).toEqual(['added']);
    expect(d.findings).toEqual([{ cidr: '192.0.2.0/29', detail: 'inside base allowlisted 192.0.2.0/28 (mgmt)' }]);
  });

  it('finds an entry newly enforced inside a protected range', () => {
    const d = compareEnforced(ledger([]), ledger([{ cidr: '203.0.113.0/24' }]), AT, ['203.0.113.10']);
    expect(d.findings).toEqual([{ cidr: '203.0.113.0/24', detail: 'inside protected 203.0.113.10' }]);
  });

  it('names why an entry stops being enforced: removed, expiry moved into the past, allowlist widened, policy tightened', () => {
    const base = ledger([
      { cidr: '192.0.2.5' },
      { cidr: '10.0.0.0/8' },
      { cidr: '198.51.100.7', expires: '2026-11-30T00:00:00Z' },
      { cidr: '203.0.113.1' },
    ]);
    const head = ledger([{ cidr: '192.0.2.5' }, { cidr: '10.0.0.0/8' }, { cidr: '198.51.100.7', expires: '2026-11-25T11:59:59Z' }], ['192.0.2.0/24'], { ipv4: 9, ipv6: 32 });
    const d = compareEnforced(base, head, AT);
    expect(d.noLongerEnforced.map((c) => [c.cidr, c.reason, c.detail])).toEqual([
      ['10.0.0.0/8', 'policy-tightened', "now broader than the policy's /9"],
      ['192.0.2.5', 'allowlist-widened', 'now inside allowlisted 192.0.2.0/24'],
      ['198.51.100.7', 'expiry-moved-into-past', 'expires moved from 2026-11-30T00:00:00Z to 2026-11-25T11:59:59Z, in the past: an unban'],
      ['203.0.113.1', 'removed', 'removed from the ledger: unbanned everywhere'],
    ]);
    expect(d.newlyEnforced).toEqual([]);
    expect(d.findings).toEqual([]);
  });

  it('compares both sides at the same moment: what expired for both is in neither', () => {
    const base = ledger([{ cidr: '198.51.100.7', expires: '2026-11-24T00:00:00Z' }]);
    expect(compareEnforced(base, ledger([]), AT)).toMatchObject({ newlyEnforced: [], noLongerEnforced: [] });
  });
});
