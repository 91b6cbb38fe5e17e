/**
 * One home per piece of logic, measured on the sources (docs/architecture.md): addresses are
 * read only by controller/net/ (a second parser would drift from the canonical form that every
 * ledger key, kernel listing and Proxmox member is compared in), and each entry of HOMES below
 * has its signature in one file only.
 */
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../helpers/sources.js';

const files = sourceFiles();

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

/** A piece of logic, the one file it lives in, and what a copy of it looks like. */
interface Home {
  what: string;
  home: string;
  copy: RegExp;
}

export const HOMES: readonly Home[] = [
  // The host config's defaults and paths (the hook's cheap reader once had its own set).
  { what: 'the default host config path', home: 'controller/config/host-config.ts', copy: /['"]\/etc\/fail2git\/config\.yaml['"]/ },
  { what: 'the default stateDir', home: 'controller/config/host-config.ts', copy: /['"]\/var\/lib\/fail2git['"]/ },
  { what: 'the default metrics file', home: 'controller/config/host-config.ts', copy: /['"]fail2git\.prom['"]/ },
  { what: 'the spool directory', home: 'controller/config/host-config.ts', copy: /join\([^)]*,\s*['"]spool['"]\)/ },
  { what: 'the host config defaults', home: 'controller/config/host-config.ts', copy: /\?\?\s*['"]30s['"]/ },
  // Ledger text: one YAML reader (strict with positions, or lenient), one reader of a ban line.
  { what: 'a YAML parser', home: 'controller/ledger/yaml-parse.ts', copy: /from ['"]yaml['"]|(?:\)|\brequire|\bimport)\(['"]yaml['"]\)/ },
  // Driver options: one reader, one error class and code for all six drivers.
  { what: 'a driver option reader', home: 'controller/targets/utils/options.ts', copy: /class \w*OptionReader\b|['"]E_TARGET_OPTIONS?['"]/ },
  // Files readers must see whole: one atomic writer (temp file, rename), which keeps the cause.
  { what: 'an atomic write (a temp file renamed into place)', home: 'controller/lib/files.ts', copy: /\brename(?:Sync)?\(\s*tmp\b/ },
  // Commit trailers: one module writes and reads them (hooks, ban/unban, gc; audit, redelivery).
  { what: 'a commit trailer', home: 'controller/git/trailers.ts', copy: /[`'"]Fail2git-[A-Z][A-Za-z]*:/ },
  { what: 'a one-line ban entry pattern', home: 'controller/ledger/banlist-lines.ts', copy: /\^\\s\*-\\s\*\(?\\\{/ },
];

export function copiesOutsideHome(list: readonly { file: string; text: string }[], homes: readonly Home[] = HOMES): string[] {
  return homes.flatMap(({ what, home, copy }) => list.filter(({ file, text }) => file !== home && copy.test(text)).map(({ file }) => `${file} has ${what} (home: ${home})`));
}

describe('one home per piece of logic', () => {
  it('reads the tree', () => {
    expect(files.some((f) => f.file === 'controller/net/cidr.ts')).toBe(true);
  });

  it('only controller/net/ parses IP addresses', () => {
    expect(addressParsersOutsideNet(files)).toEqual([]);
  });

  it('each piece of logic in HOMES lives in its home only', () => {
    expect(copiesOutsideHome(files)).toEqual([]);
    for (const { home, copy } of HOMES) expect(files.find((f) => f.file === home)?.text, home).toMatch(copy);
  });

  it('would see a second copy of a home (the check can fail)', () => {
    const copies = [
      { file: 'hooks/x.ts', text: "const stateDir = o.stateDir ?? '/var/lib/fail2git';\nconst spool = join(stateDir, 'spool');" },
      { file: 'controller/config/host-config.ts', text: "'/var/lib/fail2git'" },
      { file: 'controller/gc/y.ts', text: "import { parse } from 'yaml';" },
      { file: 'bin/commands/w.ts', text: "await writeFile(tmp, text);\nawait rename(tmp, path);" },
      { file: 'controller/gc/t.ts', text: "const block = `Fail2git-Op: expire\\nFail2git-Cidr: ${cidr}`;" },
      { file: 'controller/targets/pve/options.ts', text: "export class OptionReader {}\nthrow new ConfigError('E_TARGET_OPTIONS', msg);" },
      { file: 'controller/audit/z.ts', text: "const yaml = createRequire(import.meta.url)('yaml');\nconst ENTRY_LINE = /^\\s*-\\s*(\\{.*\\})\\s*$/;" },
    ];
    expect(copiesOutsideHome(copies).sort()).toEqual([
      'hooks/x.ts has the default stateDir (home: controller/config/host-config.ts)',
      'hooks/x.ts has the spool directory (home: controller/config/host-config.ts)',
      'controller/gc/y.ts has a YAML parser (home: controller/ledger/yaml-parse.ts)',
      'controller/gc/t.ts has a commit trailer (home: controller/git/trailers.ts)',
      'bin/commands/w.ts has an atomic write (a temp file renamed into place) (home: controller/lib/files.ts)',
      'controller/targets/pve/options.ts has a driver option reader (home: controller/targets/utils/options.ts)',
      'controller/audit/z.ts has a YAML parser (home: controller/ledger/yaml-parse.ts)',
      'controller/audit/z.ts has a one-line ban entry pattern (home: controller/ledger/banlist-lines.ts)',
    ].sort());
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
