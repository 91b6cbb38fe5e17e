/**
 * Error codes are a declared list (ERROR_CODES in controller/lib/errors.ts), each with what
 * happens next. Measured on the sources: every `'E_…'` literal is a declared code, no error is
 * thrown without one (a bare `new Error(`), and every declared code is used somewhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../controller/lib/errors.js';
import { REPO_ROOT } from '../helpers/git.js';
import { sourceFiles } from '../helpers/sources.js';

const files = sourceFiles();

const CODE = /['"`](E_[A-Z0-9_]+)['"`]/g;
const BARE = /\bnew Error\(/g;

export function undeclaredCodes(list: readonly { file: string; text: string }[], declared: ReadonlySet<string>): string[] {
  return list.flatMap(({ file, text }) => [...text.matchAll(CODE)].map((m) => m[1]!).filter((c) => !declared.has(c)).map((c) => `${file}: ${c}`));
}

export function bareErrors(list: readonly { file: string; text: string }[]): string[] {
  return list.flatMap(({ file, text }) => [...text.matchAll(BARE)].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}`));
}

const declared = new Set(Object.keys(ERROR_CODES));

describe('error codes are one declared list', () => {
  it('every code has what happens next and one line saying what it means', () => {
    expect(declared.size).toBeGreaterThan(50);
    for (const [code, { next, means }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^E_[A-Z0-9_]+$/);
      expect(['fix the input', 'fix the host', 'retry', 'hold'], code).toContain(next);
      expect(means, code).toMatch(/^\S[^\n]+$/);
    }
  });

  it('every code in the sources is declared in controller/lib/errors.ts', () => {
    expect(undeclaredCodes(files, declared)).toEqual([]);
  });

  it('no error is thrown without a code (no bare new Error)', () => {
    expect(bareErrors(files)).toEqual([]);
  });

  it('every declared code is used (the list is what the code does)', () => {
    const used = new Set(files.filter((f) => f.file !== 'controller/lib/errors.ts').flatMap(({ text }) => [...text.matchAll(CODE)].map((m) => m[1]!)));
    used.add('E_LEDGER_INVALID'); // InvalidLedgerError's own code, set in errors.ts
    expect([...declared].filter((c) => !used.has(c))).toEqual([]);
  });

  it('docs/errors.md lists every code under what happens next', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    for (const [code, { next }] of Object.entries(ERROR_CODES)) {
      const section = doc.split(`\n## ${next}\n`)[1]?.split('\n## ')[0] ?? '';
      expect(section, `${code} under "${next}"`).toContain(`| \`${code}\` |`);
    }
  });

  it('would see an undeclared code or a bare error (the check can fail)', () => {
    const copies = [
      { file: 'controller/x.ts', text: "throw new InputError('E_NOT_IN_THE_LIST', 'x');\nconst ok = 'E_CIDR';" },
      { file: 'hooks/y.ts', text: "\n\nthrow new Error('oops');" },
    ];
    expect(undeclaredCodes(copies, declared)).toEqual(['controller/x.ts: E_NOT_IN_THE_LIST']);
    expect(bareErrors(copies)).toEqual(['hooks/y.ts:3']);
  });
});
