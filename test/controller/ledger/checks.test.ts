/** The short canonical time path must give exactly what the general parser gives (addresses: test/controller/net/cidr-fast.test.ts). */
import { describe, it, expect } from 'vitest';
import { fastCanonicalTime } from '../../../controller/ledger/checks.js';
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
