/** The short canonical time path must give exactly what the general parser gives (addresses: test/controller/net/cidr-fast.test.ts). */
import { describe, it, expect } from 'vitest';
import { fastCanonicalTime, unprintableProblems } from '../../../controller/ledger/checks.js';
import { parseBanListFast } from '../../../controller/ledger/banlist-lines.js';
import { parseBanList } from '../../../controller/ledger/banlist.js';
import { parseTime } from '../../../controller/lib/duration.js';

let seed = 7;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};

describe('fastCanonicalTime', () => {
  it('agrees with parseTime on random times, including impossible dates', () => {
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    for (let i = 0; i < 20000; i++) {
      const text = `${pad(1990 + rand(120), 4)}-${pad(rand(14))}-${pad(rand(33))}T${pad(rand(25))}:${pad(rand(61))}:${pad(rand(61))}Z`;
      const fast = fastCanonicalTime(text);
      let slow: number | undefined;
      try {
        slow = parseTime(text).getTime();
      } catch {
        slow = undefined;
      }
      if (fast !== undefined) expect(fast, text).toBe(slow);
      else if (slow !== undefined) expect(text.endsWith(':60Z'), `${text} refused by the fast path only`).toBe(true); // leap seconds: general path
    }
  });

  it('leap years', () => {
    expect(fastCanonicalTime('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(fastCanonicalTime('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(fastCanonicalTime('2100-02-29T00:00:00Z')).toBeUndefined();
    expect(fastCanonicalTime('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
  });
});

describe('unprintableProblems on the line reader\'s documents', () => {
  const text = (reason: string) => `apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: 192.0.2.1, by: web1}\n  - {cidr: 192.0.2.2, reason: ${reason}}\n`;

  it('skips the walk only for a document of plain scalars, and still finds an escaped control character in a quoted one', () => {
    const plain = parseBanListFast(text('brute force'))!;
    expect(plain.printable).toBe(true);
    expect(unprintableProblems(plain, 'bans/active.yaml')).toEqual([]);
    const quoted = parseBanListFast(text('"bell\\u0007"'))!;
    expect(quoted.printable).toBeUndefined();
    expect(unprintableProblems(quoted, 'bans/active.yaml')).toMatchObject([{ code: 'E_CONTROL_CHAR', line: 5 }]);
    expect(parseBanList(text('"new\\nline"')).problems).toMatchObject([{ code: 'E_CONTROL_CHAR', line: 5 }]);
  });
});

describe('duplicates in a ban list that is sorted until it is not', () => {
  const list = (...cidrs: string[]) => `apiVersion: fail2git/v1\nkind: BanList\nbans:\n${cidrs.map((c) => `  - {cidr: ${c}}\n`).join('')}`;
  const dups = (text: string) => parseBanList(text).problems.filter((p) => p.code === 'E_DUPLICATE').map((p) => `${p.line}: ${p.message}`);

  it('finds a repeat right after its first, one far after a sorted run, and none in a sorted list', () => {
    expect(dups(list('192.0.2.1', '192.0.2.2', '192.0.2.3'))).toEqual([]);
    expect(dups(list('192.0.2.1', '192.0.2.2', '192.0.2.2', '192.0.2.3'))).toEqual(['6: 192.0.2.2 is listed twice (first at line 5)']);
    expect(dups(list('192.0.2.1', '192.0.2.2', '192.0.2.3', '10.0.0.1', '192.0.2.1', '10.0.0.1'))).toEqual([
      '8: 192.0.2.1 is listed twice (first at line 4)', '9: 10.0.0.1 is listed twice (first at line 7)',
    ]);
    // two spellings of one network are one key
    expect(dups(`apiVersion: fail2git/v1\nkind: BanList\nbans:\n  - {cidr: "2001:db8::1"}\n  - {cidr: "2001:DB8:0::1"}\n`)).toEqual(['5: 2001:db8::1 is listed twice (first at line 4)']);
  });
});
