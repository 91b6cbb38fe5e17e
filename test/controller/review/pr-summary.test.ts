import { describe, expect, it } from 'vitest';
import { hasFindings, parseSnapshot, summarize, type LedgerTexts } from '../../../controller/review/pr-summary.js';
import { formatSummary } from '../../../controller/review/pr-summary-format.js';

const bans = (...lines: string[]) => `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
const allow = (...lines: string[]) => `apiVersion: fail2git/v1\nkind: AllowList\nallow:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
const policy = (spec: string) => `apiVersion: fail2git/v1\nkind: Policy\nspec: ${spec}\n`;
const target = (name: string, driver: string) => `apiVersion: fail2git/v1\nkind: Target\nmetadata: {name: ${name}}\nspec: {driver: ${driver}}\n`;

const base: LedgerTexts = {
  bans: bans('{cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, by: web1}', '{cidr: 203.0.113.0/24, by: alice}'),
  allow: allow('{cidr: 192.0.2.0/28, reason: management}'),
  policy: policy('{defaultTtl: 1h}'),
  targets: [target('kernel', 'ipset'), target('old', 'route')].join('---\n'),
};

function diff(head: LedgerTexts) {
  return summarize(parseSnapshot(base), parseSnapshot({ ...base, ...head }));
}

describe('summarize', () => {
  it('lists bans added, removed and changed (by canonical key)', () => {
    const s = diff({ bans: bans('{cidr: 198.51.100.7/32, expires: 2026-12-09T00:00:00Z, by: web1}', '{cidr: "2001:DB8::1", by: bob}') });
    expect(s.bansAdded.map((b) => b.cidr)).toEqual(['2001:db8::1']);
    expect(s.bansRemoved.map((b) => b.cidr)).toEqual(['203.0.113.0/24']);
    expect(s.bansChanged).toEqual([expect.objectContaining({ cidr: '198.51.100.7', fields: ['expires'] })]);
    expect(hasFindings(s)).toBe(false);
  });

  it('finds a new ban inside the allowlist, but not old overlaps the change did not touch', () => {
    const s = diff({ bans: bans('{cidr: 192.0.2.5, by: mallory}', '{cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, by: web1}', '{cidr: 203.0.113.0/24, by: alice}') });
    expect(s.overlaps).toEqual([{ ban: '192.0.2.5', allow: '192.0.2.0/28', reason: 'management' }]);
    expect(hasFindings(s)).toBe(true);
    const untouched = summarize(parseSnapshot({ ...base, bans: bans('{cidr: 192.0.2.5}') }), parseSnapshot({ ...base, bans: bans('{cidr: 192.0.2.5}') }));
    expect(untouched.overlaps).toEqual([]);
  });

  it('finds a new allow entry covering an existing ban', () => {
    const s = diff({ allow: allow('{cidr: 192.0.2.0/28, reason: management}', '{cidr: 203.0.0.0/8, reason: partner}') });
    expect(s.allowAdded).toEqual([{ cidr: '203.0.0.0/8', reason: 'partner' }]);
    expect(s.overlaps).toEqual([{ ban: '203.0.113.0/24', allow: '203.0.0.0/8', reason: 'partner' }]);
  });

  it("finds bans broader than the head policy's broadestPrefix (default /8 and /32)", () => {
    const s = diff({ bans: bans('{cidr: 10.0.0.0/7}', '{cidr: "2001:db8::/31"}', '{cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, by: web1}', '{cidr: 203.0.113.0/24, by: alice}') });
    expect(s.tooBroad).toEqual([{ cidr: '10.0.0.0/7', limit: 8 }, { cidr: '2001:db8::/31', limit: 32 }]);
    const stricter = diff({ policy: policy('{broadestPrefix: {ipv4: 25, ipv6: 48}}'), bans: bans('{cidr: 198.51.100.0/24}') });
    expect(stricter.tooBroad).toEqual([{ cidr: '198.51.100.0/24', limit: 25 }]);
    expect(stricter.policyChanged.map((p) => p.key)).toEqual(['broadestPrefix']);
  });

  it('reports entries that are not addresses, and target changes', () => {
    const s = diff({ bans: bans('{cidr: 999.1.1.1}'), targets: [target('kernel', 'nftables'), target('new', 'file')].join('---\n') });
    expect(s.unparsable).toEqual([expect.stringContaining('"999.1.1.1"')]);
    expect(s).toMatchObject({ targetsAdded: ['new'], targetsRemoved: ['old'], targetsChanged: ['kernel'] });
  });

  it('treats a missing base (first commit) as empty', () => {
    const s = summarize(parseSnapshot({}), parseSnapshot(base));
    expect(s.bansAdded).toHaveLength(2);
    expect(s.allowAdded).toHaveLength(1);
  });
});

describe('formatSummary', () => {
  it('puts findings first, in text and markdown', () => {
    const s = diff({ bans: bans('{cidr: 192.0.2.5, by: mallory, reason: "a `tick`"}', '{cidr: 198.51.100.7, expires: 2026-12-01T00:00:00Z, by: web1}', '{cidr: 203.0.113.0/24, by: alice}') });
    const text = formatSummary(s, 'text', 'a..b');
    expect(text.split('\n').slice(0, 3)).toEqual([
      'fail2git review a..b: 1 ban added, 0 removed, 0 changed, 1 finding',
      'Findings:',
      '  192.0.2.5 overlaps allowlisted 192.0.2.0/28 (management): it will not be enforced there',
    ]);
    const md = formatSummary(s, 'markdown', 'a..b');
    expect(md).toContain('### ⚠️ Findings');
    expect(md).toContain('- 192.0.2.5, permanent, by: mallory, reason: a \\`tick\\`');
  });
});
