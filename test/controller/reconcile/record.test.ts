import { describe, expect, it } from 'vitest';
import { previousKeys } from '../../../controller/reconcile/record.js';

describe('previousKeys (which of a plan\'s keys the previous run desired)', () => {
  const text = '# d1\n10.0.0.1\n10.0.0.10\n10.0.0.0/24\n2001:db8::1';
  const keys = new Set(text.split('\n').slice(1));

  it('finds whole lines only, the first and the last included', () => {
    const probe = new Set(['10.0.0.1', '10.0.0.10', '2001:db8::1', '10.0.0.0', '0.0.1', '10.0.0.0/2', '2001:db8::', 'd1', '# d1', '192.0.2.1']);
    expect(previousKeys(text, 'd1', probe)).toEqual(new Set(['10.0.0.1', '10.0.0.10', '2001:db8::1']));
  });

  it('gives the same answer for a large probe (which splits the text) as for small ones', () => {
    const probe = new Set([...Array.from({ length: 100 }, (_, i) => `10.0.0.${i}`), '10.0.0.0/24']);
    const big = previousKeys(text, 'd1', probe)!;
    expect(big).toEqual(new Set([...probe].filter((k) => keys.has(k))));
    for (const k of probe) expect(previousKeys(text, 'd1', new Set([k]))!.has(k)).toBe(big.has(k));
  });

  it('answers nothing for a file of another desired set, and an empty set for one with no keys', () => {
    expect(previousKeys(text, 'd2', new Set(['10.0.0.1']))).toBeUndefined();
    expect(previousKeys('# d1', 'd1', new Set(['10.0.0.1']))).toEqual(new Set());
    expect(previousKeys('# d1\n', 'd1', new Set(['10.0.0.1']))).toEqual(new Set());
  });
});
