/**
 * The signer-role rule as a pure function: what a writer key may change between two ledger
 * snapshots (DESIGN "Who decides what"), and that an admin key may change anything.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_SLACK_MS, diffBanLines, judgeRole, writerMaxTtlMs, type LedgerSnapshot } from '../../../controller/ledger/roles.js';
import { formatBanList } from '../../../controller/ledger/banlist.js';
import { DEFAULT_POLICY, type BanEntry } from '../../../controller/ledger/types.js';

const AT = new Date('2026-12-03T10:00:00Z');
const hours = (h: number) => new Date(AT.getTime() + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const BASE_TREE: Record<string, string> = {
  'bans/active.yaml': '100644 blob aaaa',
  'bans/allow.yaml': '100644 blob bbbb',
  'bans/policy.yaml': '100644 blob cccc',
  'bans/targets.yaml': '100644 blob dddd',
  'README.md': '100644 blob eeee',
};

let blob = 0;
function snap(bans: BanEntry[] | undefined, tree: Record<string, string> = {}, policy: Partial<LedgerSnapshot['policy']> = {}): LedgerSnapshot {
  // A different bans blob id for every snapshot, unless the test pins one.
  const files = { ...BASE_TREE, 'bans/active.yaml': `100644 blob b${blob++}`, ...tree };
  return {
    tree: new Map(Object.entries(files).filter(([, v]) => v !== '')),
    bans,
    policy: { broadestPrefix: DEFAULT_POLICY.broadestPrefix, escalation: null, ...policy },
  };
}

// A policy bounding what writers may write (maxTtl), with escalation beside it.
const ESCALATING = { escalation: { factor: 2, maxTtl: '7d' }, maxTtl: '7d' };
const ban = (cidr: string, expires?: string, extra: Partial<BanEntry> = {}): BanEntry => ({ cidr, ...(expires && { expires }), at: hours(0), by: 'web1', ...extra });

describe('judgeRole: an admin', () => {
  it('may change every file, bans however it likes', () => {
    const before = snap([ban('192.0.2.1', hours(1))]);
    const after = snap([ban('10.0.0.0/4')], { 'bans/allow.yaml': '100644 blob new', 'bans/policy.yaml': '', '.github/x.yml': '100644 blob 1' });
    expect(judgeRole(before, after, 'admin', AT)).toEqual({ ok: true });
  });
});

describe('judgeRole: a writer', () => {
  for (const file of ['bans/allow.yaml', 'bans/policy.yaml', 'bans/targets.yaml', 'README.md']) {
    it(`may not change ${file}`, () => {
      const v = judgeRole(snap([]), snap([], { [file]: '100644 blob changed' }), 'writer', AT);
      expect(v).toMatchObject({ ok: false, file });
      if (!v.ok) expect(v.why).toBe(`changes ${file}; a writer key may only change bans/active.yaml (this needs a key in adminSigners)`);
    });
  }

  it('may not add a file, delete one, or turn a ledger file into a symlink', () => {
    expect(judgeRole(snap([]), snap([], { '.gitattributes': '100644 blob 1' }), 'writer', AT)).toMatchObject({ ok: false, file: '.gitattributes' });
    expect(judgeRole(snap([]), snap([], { 'bans/allow.yaml': '' }), 'writer', AT)).toMatchObject({ ok: false, file: 'bans/allow.yaml' });
    expect(judgeRole(snap([]), snap([], { 'bans/targets.yaml': '120000 blob dddd' }), 'writer', AT)).toMatchObject({ ok: false, file: 'bans/targets.yaml' });
  });

  it('may ban, unban, extend and gc within the policy', () => {
    const before = snap([ban('192.0.2.1', hours(1)), ban('192.0.2.2', hours(-2)), ban('198.51.100.0/24', hours(5))]);
    const after = snap([
      ban('192.0.2.1', hours(24), { count: 2, jail: 'sshd', at: hours(0.5) }), // extended by a re-ban
      ban('203.0.113.9', hours(1)), // a new ban
      ban('2001:db8::/64', hours(2)), // a new IPv6 ban at the banPrefix
    ]); // 192.0.2.2 gc'd, 198.51.100.0/24 unbanned
    expect(judgeRole(before, after, 'writer', AT)).toEqual({ ok: true });
  });

  it('may touch an entry an admin made longer than a writer could, when it keeps the expiry (a re-ban)', () => {
    const before = snap([ban('192.0.2.1', hours(24 * 365))], {}, ESCALATING);
    const after = snap([ban('192.0.2.1', hours(24 * 365), { count: 3, by: 'web2' })], {}, ESCALATING);
    expect(judgeRole(before, after, 'writer', AT)).toEqual({ ok: true });
  });

  it('may not ban broader than broadestPrefix', () => {
    const v = judgeRole(snap([]), snap([ban('10.0.0.0/7', hours(1))]), 'writer', AT);
    expect(v).toMatchObject({ ok: false, file: 'bans/active.yaml' });
    if (!v.ok) expect(v.why).toContain('broader than the policy\'s broadestPrefix (/8 for IPv4)');
    expect(judgeRole(snap([]), snap([ban('2001:db8::/31', hours(1))]), 'writer', AT).ok).toBe(false);
    expect(judgeRole(snap([]), snap([ban('10.0.0.0/8', hours(1))]), 'writer', AT).ok).toBe(true);
  });

  it('may not ban longer than the policy\'s maxTtl after the commit, nor permanently when there is one', () => {
    expect(writerMaxTtlMs(ESCALATING)).toBe(7 * 86_400_000);
    const ok = judgeRole(snap([], {}, ESCALATING), snap([ban('192.0.2.1', hours(7 * 24))], {}, ESCALATING), 'writer', AT);
    expect(ok).toEqual({ ok: true });
    const slack = new Date(AT.getTime() + 7 * 86_400_000 + CLOCK_SLACK_MS).toISOString();
    expect(judgeRole(snap([], {}, ESCALATING), snap([ban('192.0.2.1', slack)], {}, ESCALATING), 'writer', AT).ok).toBe(true);
    const long = judgeRole(snap([], {}, ESCALATING), snap([ban('192.0.2.1', hours(7 * 24 + 1))], {}, ESCALATING), 'writer', AT);
    expect(long).toMatchObject({ ok: false, file: 'bans/active.yaml' });
    if (!long.ok) expect(long.why).toContain('longer than the policy\'s maxTtl (7d)');
    const forever = judgeRole(snap([], {}, ESCALATING), snap([ban('192.0.2.1')], {}, ESCALATING), 'writer', AT);
    expect(forever.ok).toBe(false);
    if (!forever.ok) expect(forever.why).toContain('permanently');
  });

  it('may not extend an expiry beyond the maximum either', () => {
    const before = snap([ban('192.0.2.1', hours(1))], {}, ESCALATING);
    expect(judgeRole(before, snap([ban('192.0.2.1', hours(24 * 30))], {}, ESCALATING), 'writer', AT).ok).toBe(false);
    expect(judgeRole(before, snap([ban('192.0.2.1')], {}, ESCALATING), 'writer', AT).ok).toBe(false);
  });

  it('without maxTtl the maximum is ten years, and permanent bans are what operations make (escalation alone bounds nothing)', () => {
    expect(writerMaxTtlMs({})).toBeUndefined();
    expect(judgeRole(snap([], {}, { escalation: { factor: 2, maxTtl: '7d' } }), snap([ban('192.0.2.1')], {}, { escalation: { factor: 2, maxTtl: '7d' } }), 'writer', AT)).toEqual({ ok: true });
    expect(judgeRole(snap([]), snap([ban('192.0.2.1')]), 'writer', AT)).toEqual({ ok: true });
    expect(judgeRole(snap([]), snap([ban('192.0.2.1', hours(24 * 365 * 9))]), 'writer', AT)).toEqual({ ok: true });
    expect(judgeRole(snap([]), snap([ban('192.0.2.1', hours(24 * 365 * 11))]), 'writer', AT).ok).toBe(false);
  });

  it('may not leave the ban list unreadable', () => {
    const v = judgeRole(snap([]), snap(undefined), 'writer', AT);
    expect(v).toMatchObject({ ok: false, file: 'bans/active.yaml' });
  });

  it('judges a root commit against an empty tree (creating the ledger needs an admin)', () => {
    expect(judgeRole(undefined, snap([]), 'writer', AT)).toMatchObject({ ok: false, file: 'README.md' });
    expect(judgeRole(undefined, snap([]), 'admin', AT)).toEqual({ ok: true });
  });

  it('an unchanged bans blob is fine whatever it holds', () => {
    const same = { 'bans/active.yaml': '100644 blob same' };
    expect(judgeRole(snap([ban('10.0.0.0/4')], same), snap([ban('10.0.0.0/4')], same), 'writer', AT)).toEqual({ ok: true });
  });
});

describe('diffBanLines', () => {
  const a = ban('192.0.2.1', hours(1));
  const b = ban('192.0.2.2', hours(1));
  const c = ban('2001:db8::/64', hours(2));

  it('returns only the entries that differ, by line', () => {
    const before = formatBanList([a, b], '# header\n');
    const after = formatBanList([a, { ...b, expires: hours(3), count: 2 }, c], '# header\n');
    expect(diffBanLines(before, after)).toEqual({ removed: [b], added: [{ ...b, expires: hours(3), count: 2 }, c] });
    expect(diffBanLines(formatBanList([]), formatBanList([a]))).toEqual({ removed: [], added: [a] });
  });

  it('gives judgeRole the same verdict as the whole lists', () => {
    const before = [a, b];
    const after = [a, ban('10.0.0.0/7', hours(1))];
    const d = diffBanLines(formatBanList(before), formatBanList(after))!;
    const whole = judgeRole(snap(before), snap(after), 'writer', AT);
    const lines = judgeRole(snap(d.removed), snap(d.added), 'writer', AT);
    expect(lines).toEqual(whole);
    expect(whole.ok).toBe(false);
  });

  it('is null when a differing line is not one entry (block style, broken YAML): parse the whole files then', () => {
    expect(diffBanLines(formatBanList([a]), 'apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - cidr: 192.0.2.9\n')).toBeNull();
  });
});
