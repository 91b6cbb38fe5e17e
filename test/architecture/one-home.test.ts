/**
 * One home per piece of logic, measured on the sources: addresses are read only by
 * controller/net/ (docs/architecture.md). A second parser would drift from the canonical
 * form that every ledger key, kernel listing and Proxmox member is compared in.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/git.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const files = ['bin', 'controller', 'hooks'].flatMap((d) => sources(join(REPO_ROOT, d))).map((path) => ({
  file: relative(REPO_ROOT, path),
  text: readFileSync(path, 'utf8'),
}));

/** What reading an address looks like: the address library, node's isIP, a dotted-quad pattern. */
const ADDRESS_PARSING: readonly [string, RegExp][] = [
  ['imports ipaddr.js', /from ['"]ipaddr\.js['"]/],
  ["uses node:net's isIP", /\bisIPv?[46]?\(/],
  ['has a dotted-quad pattern', /\\d\{1,3\}\)?\\\.|\[0-9\]\{1,3\}\)?\\\.|\\\.\(25\[0-5\]/],
];

export function addressParsersOutsideNet(list: readonly { file: string; text: string }[]): string[] {
  return list.flatMap(({ file, text }) =>
    file.startsWith('controller/net/') ? [] : ADDRESS_PARSING.filter(([, re]) => re.test(text)).map(([what]) => `${file} ${what}`),
  );
}

describe('one home per piece of logic', () => {
  it('reads the tree', () => {
    expect(files.some((f) => f.file === 'controller/net/cidr.ts')).toBe(true);
  });

  it('only controller/net/ parses IP addresses', () => {
    expect(addressParsersOutsideNet(files)).toEqual([]);
  });

  it('would see a second parser (the check can fail)', () => {
    const copies = [
      { file: 'controller/audit/x.ts', text: "const V4 = /^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$/;" },
      { file: 'controller/ledger/y.ts', text: "import ipaddr from 'ipaddr.js';" },
      { file: 'controller/desired/z.ts', text: "if (isIP(host)) return [host];" },
      { file: 'controller/net/cidr.ts', text: "import ipaddr from 'ipaddr.js';" },
    ];
    expect(addressParsersOutsideNet(copies)).toEqual([
      'controller/audit/x.ts has a dotted-quad pattern',
      'controller/ledger/y.ts imports ipaddr.js',
      "controller/desired/z.ts uses node:net's isIP",
    ]);
  });
});
