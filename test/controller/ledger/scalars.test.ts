import { describe, expect, it } from 'vitest';
import { isPlainSafe, isPlainSafeReference } from '../../../controller/ledger/scalars.js';
import { rng } from '../../helpers/rng.js';

describe('isPlainSafe', () => {
  const tricky = [
    '', ' ', 'a', 'web1', 'sshd', 'a b', 'a  b', 'a ', ' a', 'a b ', 'a: b', 'a:b', 'a:', ':a', 'a :b', 'true', 'True', 'TRUE', 'tRUE', 'false', 'null',
    'Null', 'NULL', 'nULL', '~', '~x', '123', '007', '-1', '+5', '1.5', '1.5.6', '1.', '.5', '..5', '1e3', '1E+3', '1.5e-3', '0x1f', '0X1f', '0o17',
    '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '.NAN', 'nan', 'inf', '2026-11-22T09:00:00Z', '198.51.100.7', '10.0.0.1/24', '1/2', '1_000', '(paren)',
    'a=b', 'a+b@c', 'x/y', '_x', '/x', '.x', '(x', ')x', '+x', '-x', '@x', '=x', '~/x', 'é', 'a\tb', 'a\nb', '1 2', 'N', 'T', 'F', 'n 1', '0 x',
  ];

  it('answers exactly as the regexes it replaces, on tricky texts', () => {
    for (const t of tricky) expect(isPlainSafe(t), JSON.stringify(t)).toBe(isPlainSafeReference(t));
  });

  it('answers exactly as the regexes on random texts over the interesting characters', () => {
    const r = rng(20261203);
    const alphabet = 'aeflnrstuxyzNTFIE019.+-_:/ ()@=~#,"\'\té';
    for (let n = 0; n < 50_000; n++) {
      let t = '';
      const len = Math.floor(r() * 8);
      for (let i = 0; i < len; i++) t += alphabet[Math.floor(r() * alphabet.length)];
      expect(isPlainSafe(t), JSON.stringify(t)).toBe(isPlainSafeReference(t));
    }
  });
});
