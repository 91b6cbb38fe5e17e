import { describe, it, expect } from 'vitest';
import { parseLog, LOG_FORMAT } from '../../../controller/audit/log.js';
import { parseTrailers } from '../../../controller/git/trailers.js';
import { changedLines, parseHandEdits } from '../../../controller/audit/hand-edits.js';
import { CidrCache, mayRelateV4, relationOf } from '../../../controller/audit/entries.js';
import { parseEntryLine } from '../../../controller/ledger/banlist-lines.js';
import { parseCidr } from '../../../controller/net/cidr.js';

describe('parseTrailers', () => {
  it('splits operation blocks at each Fail2git-Op, across blank lines', () => {
    const body = [
      'Two operations.',
      '',
      'Fail2git-Op: ban',
      'Fail2git-Cidr: 203.0.113.7',
      'Fail2git-Jail: sshd',
      '',
      'Fail2git-Op: Unban',
      'Fail2git-Cidr: 198.51.100.7',
      'Fail2git-Host: web1',
    ].join('\n');
    expect(parseTrailers(body)).toEqual([
      { op: 'ban', fields: { cidr: '203.0.113.7', jail: 'sshd' } },
      { op: 'unban', fields: { cidr: '198.51.100.7', host: 'web1' } },
    ]);
  });

  it('ignores fields before the first op and lines that only look alike', () => {
    expect(parseTrailers('Fail2git-Cidr: 1.2.3.4\nnot Fail2git-Op: ban\nSigned-off-by: x')).toEqual([]);
  });
});

describe('parseLog', () => {
  it('reads the records LOG_FORMAT produces', () => {
    expect(LOG_FORMAT).toContain('%b');
    const text = '\x1eabc\x1fp1 p2\x1f1700000000\x1fweb1\x1ffail2git@web1\x1fban 1.2.3.4\x1fFail2git-Op: ban\nFail2git-Cidr: 1.2.3.4\n\n';
    const [c] = parseLog(text);
    expect(c).toMatchObject({ commit: 'abc', parents: ['p1', 'p2'], time: 1_700_000_000_000, author: 'web1', subject: 'ban 1.2.3.4' });
    expect(c!.ops).toEqual([{ op: 'ban', fields: { cidr: '1.2.3.4' } }]);
  });
});

describe('entries', () => {
  it('parses one canonical ledger line', () => {
    expect(parseEntryLine('  - {cidr: "2001:db8::1", expires: 2026-11-25T10:00:00Z, by: web1, count: 2}')).toEqual({
      cidr: '2001:db8::1', expires: '2026-11-25T10:00:00Z', by: 'web1', count: 2,
    });
    expect(parseEntryLine('kind: BanList')).toBeNull();
  });

  it('relates a ban to the audited address: exact, covering, within', () => {
    const q = parseCidr('203.0.113.7');
    expect(relationOf(q, parseCidr('203.0.113.7'))).toBe('exact');
    expect(relationOf(q, parseCidr('203.0.113.0/24'))).toBe('covered-by');
    expect(relationOf(parseCidr('203.0.113.0/24'), q)).toBe('within');
    expect(relationOf(q, parseCidr('203.0.112.0/24'))).toBeNull();
    expect(relationOf(q, parseCidr('2001:db8::/32'))).toBeNull();
  });
});

describe('mayRelateV4 (the arithmetic pre-filter)', () => {
  it('agrees with relationOf on random canonical IPv4 pairs, and defers on anything else', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let i = 0; i < 3000; i++) {
      const a = [10, rnd(3), rnd(4), rnd(256)];
      const pa = [8, 16, 24, 30, 32][rnd(5)]!;
      const b = [10, rnd(3), rnd(4), rnd(256)];
      const pb = [8, 16, 22, 24, 31, 32][rnd(6)]!;
      const net = (x: number[], p: number) => {
        const n = ((x[0]! * 256 + x[1]!) * 256 + x[2]!) * 256 + x[3]!;
        const m = Math.floor(n / 2 ** (32 - p)) * 2 ** (32 - p);
        const text = [24, 16, 8, 0].map((s) => Math.floor(m / 2 ** s) % 256).join('.');
        return p === 32 ? text : `${text}/${p}`;
      };
      const q = parseCidr(net(a, pa));
      const t = net(b, pb);
      expect(mayRelateV4(q, t), `${q.key} vs ${t}`).toBe(relationOf(q, parseCidr(t)) !== null);
    }
    expect(mayRelateV4(parseCidr('10.0.0.1'), '010.0.0.1')).toBeUndefined();
    expect(mayRelateV4(parseCidr('10.0.0.1'), '2001:db8::1')).toBeUndefined();
    expect(mayRelateV4(parseCidr('2001:db8::1'), '10.0.0.1')).toBeUndefined();
  });
});

describe('hand edits from diff-tree output', () => {
  const diff = [
    '\x1emerge1',
    'diff --cc bans/active.yaml',
    '@@@ -1,4 -1,3 +1,4 @@@',
    ' +  - {cidr: 198.51.100.9, by: web1}',
    '++  - {cidr: 203.0.113.0/24, by: alice}',
    '  apiVersion: fail2git/v1',
    '\x1eedit1',
    'diff --git a/bans/active.yaml b/bans/active.yaml',
    '@@ -3,2 +3,2 @@',
    '-  - {cidr: 203.0.113.7, expires: 2026-11-25T10:00:00Z, by: web1}',
    '+  - {cidr: 203.0.113.7, expires: 2026-12-25T10:00:00Z, by: web1}',
    '-  - {cidr: 203.0.113.8, by: web1}',
  ].join('\n');

  it('keeps only lines a merge changed against every parent', () => {
    const lines = changedLines(diff);
    expect(lines.get('merge1')).toEqual({ added: ['  - {cidr: 203.0.113.0/24, by: alice}'], removed: [] });
    expect(lines.get('edit1')!.removed).toHaveLength(2);
  });

  it('pairs removed and added lines of one CIDR into an edit', () => {
    const edits = parseHandEdits(diff, parseCidr('203.0.113.7'), new CidrCache());
    expect(edits.get('merge1')).toEqual([{ cidr: '203.0.113.0/24', relation: 'covered-by', after: { cidr: '203.0.113.0/24', by: 'alice' } }]);
    const [edit] = edits.get('edit1')!;
    expect(edit!.before!.expires).toBe('2026-11-25T10:00:00Z');
    expect(edit!.after!.expires).toBe('2026-12-25T10:00:00Z');
    expect(edits.get('edit1')).toHaveLength(1);
  });
});
