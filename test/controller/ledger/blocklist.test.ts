import { describe, expect, it } from 'vitest';
import { parseBlocklist } from '../../../controller/ledger/blocklist.js';
import { filterGiven, selectBans } from '../../../controller/ledger/select.js';

describe('parseBlocklist', () => {
  it('reads Spamhaus DROP and FireHOL lines: comments after ; or #, blank lines, CRLF, a BOM', () => {
    const text = '\uFEFF; Spamhaus DROP List 2026/12/01\r\n1.10.16.0/20 ; SBL256894\r\n\r\n# FireHOL\n203.0.113.7\n2001:DB8::/32\n203.0.113.7/32\n';
    expect(parseBlocklist(text)).toEqual({ cidrs: ['1.10.16.0/20', '203.0.113.7', '2001:db8::/32'], problems: [], duplicates: 1 });
  });

  it('names every line that is not one network', () => {
    const r = parseBlocklist('203.0.113.0/24\n999.1.1.1\n203.0.113.9 203.0.113.10\n203.0.113.7/24\n');
    expect(r.cidrs).toEqual(['203.0.113.0/24']);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(r.problems[1]!.message).toBe('one address or CIDR per line, found 2 words');
    expect(r.problems[2]!.message).toMatch(/host bits set/);
  });
});

describe('selectBans', () => {
  const bans = [
    { cidr: '203.0.113.1', jail: 'sshd', by: 'web1', reason: 'Botnet wave' },
    { cidr: '203.0.113.2', jail: 'postfix', by: 'mail1' },
    { cidr: '203.0.113.3', jail: 'sshd', by: 'alice', reason: 'ticket 7' },
  ];

  it('every given criterion must match; reason is a case-insensitive substring', () => {
    expect(selectBans(bans, { jail: 'sshd' }).map((b) => b.cidr)).toEqual(['203.0.113.1', '203.0.113.3']);
    expect(selectBans(bans, { jail: 'sshd', by: 'alice' }).map((b) => b.cidr)).toEqual(['203.0.113.3']);
    expect(selectBans(bans, { reason: 'botnet' }).map((b) => b.cidr)).toEqual(['203.0.113.1']);
    expect(selectBans(bans, { cidrs: new Set(['203.0.113.2', '198.51.100.1']) }).map((b) => b.cidr)).toEqual(['203.0.113.2']);
  });

  it('no criterion selects nothing, never everything', () => {
    expect(filterGiven({})).toBe(false);
    expect(selectBans(bans, {})).toEqual([]);
  });
});
