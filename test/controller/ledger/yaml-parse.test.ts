/**
 * The full YAML path's guards: nesting is measured by one lexer pass before the
 * recursive parser runs, counting only real collections (brackets inside quotes, comments
 * and block scalars are text), and texts above MAX_YAML_BYTES are refused unless asked.
 */
import { describe, expect, it } from 'vitest';
import { MAX_YAML_BYTES, parseYaml, tooDeepAt } from '../../../controller/ledger/yaml-parse.js';

const flow = (n: number): string => `x: ${'['.repeat(n)}${']'.repeat(n)}\n`;

describe('parseYaml guards', () => {
  it('accepts nesting up to 64 levels and refuses the 65th with its position', () => {
    expect(tooDeepAt(flow(63))).toBe(-1); // the mapping + 63 lists
    const r = parseYaml(flow(64), 'f.yaml');
    expect(r.problems).toEqual([{ file: 'f.yaml', line: 1, col: 67, code: 'E_YAML_DEPTH', message: 'nesting deeper than 64 levels' }]);
  });

  it('does not count brackets in quoted scalars, comments or block scalars', () => {
    const text = [
      `a: "${'['.repeat(200)}"`,
      `b: '${'{'.repeat(200)}'`,
      `c: 1 # ${'['.repeat(200)}`,
      'd: |',
      `  ${'['.repeat(200)}`,
      '  - - - - not a list',
      'e:',
      '- x',
      '- y',
      `f: plain[${'['.repeat(80)}`,
    ].join('\n') + '\n';
    expect(parseYaml(text, 'f.yaml').problems).toEqual([]);
  });

  it('counts block nesting by indentation and compact indicators', () => {
    const deep = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' 1\n';
    expect(tooDeepAt(deep)).toBeGreaterThan(-1);
    const siblings = Array.from({ length: 500 }, (_, i) => `- k${i}: {a: [1]}\n  other: 2`).join('\n') + '\n';
    expect(tooDeepAt(siblings)).toBe(-1);
    expect(tooDeepAt(`${'- '.repeat(65)}x\n`)).toBe(0 + 2 * 64);
  });

  it('refuses a text over MAX_YAML_BYTES before parsing, unless the caller lifts the limit', () => {
    const text = `a: [${'1,'.repeat(MAX_YAML_BYTES / 2)}1]\n`.replace(/(.{60000})/g, '$1\n ');
    const r = parseYaml(text, 'f.yaml');
    expect(r.problems).toEqual([{ file: 'f.yaml', line: 1, col: 1, code: 'E_YAML_TOO_LARGE', message: 'file is 2.0 MiB; YAML files are read only up to 2 MiB (refusing to parse)' }]);
    expect(parseYaml('a: 1\n', 'f.yaml', { maxBytes: 3 }).problems[0]?.code).toBe('E_YAML_TOO_LARGE');
    expect(parseYaml('a: 1\n', 'f.yaml', { maxBytes: Infinity }).problems).toEqual([]);
  });
});
