/**
 * The one fixtures module: test data every test draws from.
 *  - small ledgers for reconciler tests (bans with optional expiry, Target documents with host
 *    globs, a policy), written in the canonical layout the real writers produce;
 *  - ledger directories holding given files (`writeLedger`);
 *  - the malformed ledgers (BAD_CASES): each a set of files and the one finding it must produce
 *    (file, line, column, code, message), for the loader test and `fail2git validate`;
 *  - the real Proxmox files in shared/fixtures/pve/, beside the repository, not in it (`../shared`
 *    next to a clone, how CI lays it out, else the workplace's /work/shared).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './git.js';
import { tmpDir } from './tmp.js';

// --- ledgers for reconciler tests ---
export interface FixtureBan {
  cidr: string;
  expires?: Date | string;
}

export interface FixtureTarget {
  name: string;
  driver?: string;
  hosts?: string[];
  options?: Record<string, unknown>;
}

const iso = (d: Date | string): string => (typeof d === 'string' ? d : d.toISOString().replace(/\.\d{3}Z$/, 'Z'));
const quote = (cidr: string): string => (cidr.includes(':') ? JSON.stringify(cidr) : cidr);

export function banList(bans: readonly FixtureBan[]): string {
  const lines = bans.map((b) => {
    const exp = b.expires ? `, expires: ${iso(b.expires)}` : '';
    return `  - {cidr: ${quote(b.cidr)}${exp}, at: 2026-01-01T00:00:00Z, by: test, jail: sshd}`;
  });
  return ['apiVersion: fail2git/v1', 'kind: BanList', lines.length ? 'bans:' : 'bans: []', ...lines, ''].join('\n');
}

export function targetDocs(targets: readonly FixtureTarget[]): string {
  return targets
    .map((t) => {
      const lines = ['apiVersion: fail2git/v1', 'kind: Target', `metadata: {name: ${t.name}}`, 'spec:', `  driver: ${t.driver ?? 'file'}`];
      if (t.hosts) lines.push(`  hosts: [${t.hosts.map((h) => JSON.stringify(h)).join(', ')}]`);
      const options = t.options ?? { path: `/nonexistent/fail2git-${t.name}.txt` };
      lines.push(`  options: ${JSON.stringify(options)}`);
      return lines.join('\n') + '\n';
    })
    .join('---\n');
}

export function policy(spec: Record<string, unknown> = {}): string {
  return `apiVersion: fail2git/v1\nkind: Policy\nspec: ${JSON.stringify(spec)}\n`;
}

export function allowList(cidrs: readonly string[] = []): string {
  const lines = cidrs.map((c) => `  - {cidr: ${quote(c)}, reason: test}`);
  return ['apiVersion: fail2git/v1', 'kind: AllowList', lines.length ? 'allow:' : 'allow: []', ...lines, ''].join('\n');
}

/** The four ledger files. */
export function ledgerFiles(opts: { bans?: FixtureBan[]; targets?: FixtureTarget[]; policy?: Record<string, unknown>; allow?: string[] }): Record<string, string> {
  return {
    'bans/active.yaml': banList(opts.bans ?? []),
    'bans/allow.yaml': allowList(opts.allow),
    'bans/policy.yaml': policy(opts.policy),
    'bans/targets.yaml': targetDocs(opts.targets ?? [{ name: 'alpha' }]),
  };
}

/** A ledger directory holding `files` (paths like `bans/active.yaml`). */
export function writeLedger(files: Record<string, string | Uint8Array>, prefix = 'cli-ledger'): string {
  const dir = tmpDir(prefix);
  mkdirSync(join(dir, 'bans'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

// --- malformed ledgers ---
export interface BadCase {
  name: string;
  files: Record<string, string | Uint8Array>;
  file: string;
  line: number;
  col: number;
  code: string;
  message: RegExp;
  /** a warning (validate exits 1, the ledger stays usable) rather than a problem */
  warning?: boolean;
}

const HEAD = '# test ledger\napiVersion: fail2git/v1\nkind: BanList\n';
export const bans = (...lines: string[]): string => `${HEAD}bans:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
const OK = '{cidr: 192.0.2.1, at: 2026-11-22T08:00:00Z}';
const allow = (...lines: string[]): string => `apiVersion: fail2git/v1\nkind: AllowList\nallow:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
const policyText = (spec: string): string => `apiVersion: fail2git/v1\nkind: Policy\nspec:\n${spec}`;
const target = (body: string): string => `apiVersion: fail2git/v1\nkind: Target\n${body}`;
const B = 'bans/active.yaml';
const A = 'bans/allow.yaml';
const P = 'bans/policy.yaml';
const T = 'bans/targets.yaml';

function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n') + '\n';
}

export const BAD_CASES: BadCase[] = [
  { name: 'broken YAML (unclosed flow mapping)', files: { [B]: bans(OK, '{cidr: 192.0.2.2, at: 2026-11-22T08:00:00Z') }, file: B, line: 7, col: 1, code: 'E_YAML', message: /flow|map|expected/i },
  { name: 'wrong kind in active.yaml', files: { [B]: '# x\napiVersion: fail2git/v1\nkind: AllowList\nbans: []\n' }, file: B, line: 3, col: 7, code: 'E_SCHEMA', message: /kind must be "BanList" here, got "AllowList"/ },
  { name: 'wrong apiVersion', files: { [B]: 'apiVersion: fail2git/v2\nkind: BanList\nbans: []\n' }, file: B, line: 1, col: 13, code: 'E_SCHEMA', message: /"apiVersion" must be "fail2git\/v1"/ },
  { name: 'missing apiVersion', files: { [B]: 'kind: BanList\nbans: []\n' }, file: B, line: 1, col: 1, code: 'E_SCHEMA', message: /missing required field "apiVersion"/ },
  { name: 'unknown field in an entry', files: { [B]: bans(OK, '{cidr: 192.0.2.2, jial: sshd}') }, file: B, line: 6, col: 23, code: 'E_SCHEMA', message: /unknown field "jial" \(allowed: cidr, expires, at, by, jail, reason, count\)/ },
  { name: 'unknown top-level field', files: { [B]: `${HEAD}bans: []\nextra: 1\n` }, file: B, line: 5, col: 1, code: 'E_SCHEMA', message: /unknown field "extra"/ },
  { name: 'bad IPv4 address', files: { [B]: bans(OK, '{cidr: 203.0.113.300}') }, file: B, line: 6, col: 12, code: 'E_CIDR_SYNTAX', message: /^"203\.0\.113\.300" is not an IP address or CIDR$/ },
  { name: 'IPv6 with host bits', files: { [B]: bans(OK, '{cidr: "2001:db8::1/64"}') }, file: B, line: 6, col: 12, code: 'E_CIDR_HOST_BITS', message: /host bits set \(did you mean 2001:db8::\/64\?\)/ },
  { name: 'IPv4 with host bits', files: { [B]: bans('{cidr: 10.0.0.1/24}') }, file: B, line: 5, col: 12, code: 'E_CIDR_HOST_BITS', message: /did you mean 10\.0\.0\.0\/24/ },
  { name: 'a loopback ban', files: { [B]: bans('{cidr: 127.0.0.1}') }, file: B, line: 5, col: 12, code: 'E_CIDR_SPECIAL', message: /127\.0\.0\.1 covers 127\.0\.0\.0\/8 \(loopback\), which is never banned/ },
  { name: 'a multicast ban', files: { [B]: bans('{cidr: 224.0.0.1}') }, file: B, line: 5, col: 12, code: 'E_CIDR_SPECIAL', message: /multicast/ },
  { name: 'the broadcast address', files: { [B]: bans('{cidr: 255.255.255.255}') }, file: B, line: 5, col: 12, code: 'E_CIDR_SPECIAL', message: /broadcast/ },
  { name: 'the unspecified IPv6 address widened', files: { [B]: bans('{cidr: "::/64"}') }, file: B, line: 5, col: 12, code: 'E_CIDR_SPECIAL', message: /unspecified|loopback/ },
  { name: 'zero-length prefix /0', files: { [B]: bans('{cidr: 0.0.0.0/0}') }, file: B, line: 5, col: 12, code: 'E_CIDR_ZERO', message: /zero-length prefix/ },
  { name: 'prefix too long', files: { [B]: bans('{cidr: 192.0.2.0/33}') }, file: B, line: 5, col: 12, code: 'E_CIDR_PREFIX', message: /invalid prefix length/ },
  { name: 'IPv6 zone id', files: { [B]: bans('{cidr: "fe80::1%eth0"}') }, file: B, line: 5, col: 12, code: 'E_CIDR_SYNTAX', message: /not an IP address/ },
  { name: 'duplicate after canonicalisation (IPv4 /32)', files: { [B]: bans(OK, '{cidr: 192.0.2.1/32}') }, file: B, line: 6, col: 12, code: 'E_DUPLICATE', message: /192\.0\.2\.1 is listed twice \(first at line 5\)/ },
  { name: 'duplicate IPv6 spellings', files: { [B]: bans('{cidr: "2001:DB8::1"}', '{cidr: "2001:db8:0:0::1/128"}') }, file: B, line: 6, col: 12, code: 'E_DUPLICATE', message: /2001:db8::1 is listed twice/ },
  { name: 'ban overlapping the allowlist', files: { [B]: bans('{cidr: 192.0.2.5}'), [A]: allow('{cidr: 192.0.2.0/28, reason: mgmt}') }, file: B, line: 5, col: 12, code: 'E_ALLOW_OVERLAP', message: /192\.0\.2\.5 is allowlisted by 192\.0\.2\.0\/28/, warning: true },
  { name: 'ban containing an allowlisted network', files: { [B]: bans('{cidr: 192.0.2.0/24}'), [A]: allow('{cidr: 192.0.2.0/28}') }, file: B, line: 5, col: 12, code: 'E_ALLOW_OVERLAP', message: /contains allowlisted 192\.0\.2\.0\/28; the whole ban is not enforced/, warning: true },
  { name: 'prefix broader than the policy allows', files: { [B]: bans('{cidr: 10.0.0.0/7}') }, file: B, line: 5, col: 12, code: 'E_TOO_BROAD', message: /broader than the policy allows \(IPv4 \/8\)/, warning: true },
  { name: 'expires before at', files: { [B]: bans('{cidr: 192.0.2.1, expires: 2026-11-22T07:00:00Z, at: 2026-11-22T08:00:00Z}') }, file: B, line: 5, col: 32, code: 'E_EXPIRES_BEFORE_AT', message: /expires 2026-11-22T07:00:00Z is before at 2026-11-22T08:00:00Z/ },
  { name: 'time not RFC 3339', files: { [B]: bans('{cidr: 192.0.2.1, expires: "2026-11-22 09:00"}') }, file: B, line: 5, col: 32, code: 'E_TIME', message: /"expires": "2026-11-22 09:00" is not an RFC 3339 time/ },
  { name: 'impossible calendar date', files: { [B]: bans('{cidr: 192.0.2.1, at: 2026-02-30T00:00:00Z}') }, file: B, line: 5, col: 27, code: 'E_TIME', message: /not a valid calendar time/ },
  { name: 'count is a string', files: { [B]: bans('{cidr: 192.0.2.1, count: three}') }, file: B, line: 5, col: 30, code: 'E_SCHEMA', message: /"count" must be an integer, got string "three"/ },
  { name: 'count is zero', files: { [B]: bans('{cidr: 192.0.2.1, count: 0}') }, file: B, line: 5, col: 30, code: 'E_SCHEMA', message: /"count" must be >= 1/ },
  { name: 'entry without cidr', files: { [B]: bans(OK, '{by: web1}') }, file: B, line: 6, col: 5, code: 'E_SCHEMA', message: /missing required field "cidr"/ },
  { name: 'a bans item that is a list', files: { [B]: bans(OK, '[192.0.2.2]') }, file: B, line: 6, col: 5, code: 'E_SCHEMA', message: /^item 2 of "bans" must be a mapping, got a list$/ },
  { name: 'an allow item that is a number', files: { [A]: allow('{cidr: 192.0.2.0/28}', '5') }, file: A, line: 5, col: 5, code: 'E_SCHEMA', message: /^item 2 of "allow" must be a mapping, got number 5$/ },
  { name: 'bans is a mapping, not a list', files: { [B]: `${HEAD}bans: {cidr: 192.0.2.1}\n` }, file: B, line: 4, col: 7, code: 'E_SCHEMA', message: /"bans" must be a list, got a mapping/ },
  { name: 'document is a plain string', files: { [B]: 'hello\n' }, file: B, line: 1, col: 1, code: 'E_SCHEMA', message: /a BanList document must be a mapping/ },
  { name: 'empty active.yaml', files: { [B]: '# nothing here\n' }, file: B, line: 1, col: 1, code: 'E_DOCUMENTS', message: /no document; an empty ban list is written `bans: \[\]`/ },
  { name: 'two documents in active.yaml', files: { [B]: `${bans(OK)}---\n${bans(OK)}` }, file: B, line: 8, col: 1, code: 'E_DOCUMENTS', message: /exactly one YAML document/ },
  { name: 'duplicate key in a mapping', files: { [B]: bans('{cidr: 192.0.2.1, cidr: 192.0.2.2}') }, file: B, line: 5, col: 23, code: 'E_YAML', message: /unique/ },
  { name: 'tab indentation', files: { [B]: `${HEAD}bans:\n\t- {cidr: 192.0.2.1}\n` }, file: B, line: 5, col: 1, code: 'E_YAML', message: /tab/i },
  { name: 'YAML alias bomb', files: { [B]: `${HEAD}bans: []\n${billionLaughs()}` }, file: B, line: 6, col: 8, code: 'E_YAML_ALIAS', message: /aliases \(\*a\) are not allowed/ },
  { name: 'byte order mark', files: { [B]: '\uFEFF' + bans(OK) }, file: B, line: 1, col: 1, code: 'E_BOM', message: /byte order mark/ },
  { name: 'byte order mark (bytes)', files: { [B]: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(bans(OK))]) }, file: B, line: 1, col: 1, code: 'E_BOM', message: /fail2git fmt removes it/ },
  { name: 'CRLF line endings', files: { [B]: bans(OK).replace(/\n/g, '\r\n') }, file: B, line: 1, col: 14, code: 'E_CRLF', message: /CRLF line ending; ledger files use LF/ },
  { name: 'non-UTF-8 bytes', files: { [B]: Buffer.concat([Buffer.from(bans(OK, '{cidr: 192.0.2.2, reason: "caf').trimEnd()), Buffer.from([0xe9]), Buffer.from('"}\n')]) }, file: B, line: 6, col: 35, code: 'E_ENCODING', message: /invalid UTF-8 \(byte 0xe9\)/ },
  { name: 'a 50 MB single line', files: { [B]: bans(`{cidr: 192.0.2.1, reason: "${'x'.repeat(50 * 1024 * 1024)}"}`) }, file: B, line: 5, col: 65537, code: 'E_LINE_TOO_LONG', message: /line is \d+ characters long; the limit is 65536/ },
  { name: 'huge file (> 64 MiB)', files: { [B]: new Uint8Array(65 * 1024 * 1024).fill(0x23) }, file: B, line: 1, col: 1, code: 'E_TOO_LARGE', message: /larger than 64 MiB, the limit for ledger files/ },
  { name: 'NUL byte', files: { [B]: bans('{cidr: 192.0.2.1, reason: a\u0000b}') }, file: B, line: 5, col: 32, code: 'E_CONTROL_CHAR', message: /control character U\+0000 is not allowed/ },
  { name: 'escaped newline in a quoted reason', files: { [B]: bans(OK, '{cidr: 192.0.2.2, reason: "x\\n\\n<!--"}') }, file: B, line: 6, col: 31, code: 'E_CONTROL_CHAR', message: /^"reason" holds control character U\+000A .*; ledger strings must be printable$/ },
  { name: 'escaped ESC in a quoted jail (fast path)', files: { [B]: bans('{cidr: 192.0.2.2, jail: "\\u001b[2J"}') }, file: B, line: 5, col: 29, code: 'E_CONTROL_CHAR', message: /"jail" holds control character U\+001B/ },
  { name: 'escaped ESC in a block-style ban (YAML path)', files: { [B]: `${HEAD}bans:\n  - cidr: 192.0.2.2\n    by: "\\e]0;x\\a"\n` }, file: B, line: 6, col: 9, code: 'E_CONTROL_CHAR', message: /"by" holds control character U\+001B/ },
  { name: 'bidi override in an allow reason', files: { [A]: allow('{cidr: 192.0.2.0/28, reason: "mgmt \\u202e"}') }, file: A, line: 4, col: 34, code: 'E_CONTROL_CHAR', message: /"reason" holds control character U\+202E/ },
  { name: 'escaped tab in a target name', files: { [T]: target('metadata: {name: "k\\tx"}\nspec: {driver: ipset}\n') }, file: T, line: 3, col: 18, code: 'E_CONTROL_CHAR', message: /"name" holds control character U\+0009/ },
  { name: 'escaped newline in a policy value', files: { [P]: policyText('  defaultTtl: "1h\\n"\n') }, file: P, line: 4, col: 15, code: 'E_CONTROL_CHAR', message: /"defaultTtl" holds control character U\+000A/ },
  { name: 'allow.yaml wrong kind', files: { [A]: 'apiVersion: fail2git/v1\nkind: BanList\nallow: []\n' }, file: A, line: 2, col: 7, code: 'E_SCHEMA', message: /kind must be "AllowList"/ },
  { name: 'allow.yaml bad CIDR', files: { [A]: allow('{cidr: 192.0.2.0/28}', '{cidr: not-an-ip}') }, file: A, line: 5, col: 12, code: 'E_CIDR_SYNTAX', message: /"not-an-ip" is not an IP address/ },
  { name: 'policy unknown key', files: { [P]: policyText('  defaultTTL: 1h\n') }, file: P, line: 4, col: 3, code: 'E_SCHEMA', message: /unknown field "defaultTTL" \(allowed: defaultTtl,/ },
  { name: 'policy bad duration', files: { [P]: policyText('  defaultTtl: 1 hour\n') }, file: P, line: 4, col: 15, code: 'E_SCHEMA', message: /"defaultTtl": "1 hour" is not valid \(expected a duration like 30s, 15m, 1h, 7d\)/ },
  { name: 'policy escalation without maxTtl', files: { [P]: policyText('  escalation: {factor: 2}\n') }, file: P, line: 4, col: 15, code: 'E_SCHEMA', message: /^missing required field "maxTtl"$/ },
  { name: 'policy removal limit over 100%', files: { [P]: policyText('  maxRemovePerRun: 150%\n') }, file: P, line: 4, col: 20, code: 'E_SCHEMA', message: /"maxRemovePerRun": "150%" is not valid \(expected a count, or a percentage from 0% to 100%\)/ },
  { name: 'policy prefix out of range', files: { [P]: policyText('  broadestPrefix: {ipv4: 40, ipv6: 32}\n') }, file: P, line: 4, col: 26, code: 'E_SCHEMA', message: /"ipv4" must be <= 32/ },
  { name: 'target with unknown driver', files: { [T]: target('metadata: {name: k}\nspec: {driver: iptables}\n') }, file: T, line: 4, col: 16, code: 'E_SCHEMA', message: /"driver" must be one of ipset, nftables, route, file, pve-clusterfw, pve-api; got "iptables"/ },
  { name: 'target option of another driver', files: { [T]: target('metadata: {name: k}\nspec:\n  driver: file\n  options: {path: /x.txt, setName: f2g}\n') }, file: T, line: 6, col: 27, code: 'E_SCHEMA', message: /unknown field "setName" \(allowed: [a-zA-Z, ]*\bpath\b[a-zA-Z, ]*\)/ },
  { name: 'duplicate target names', files: { [T]: `${target('metadata: {name: k}\nspec: {driver: ipset}\n')}---\n${target('metadata: {name: k}\nspec: {driver: route}\n')}` }, file: T, line: 8, col: 18, code: 'E_DUPLICATE', message: /target name "k" is used twice \(first at line 3\)/ },
  { name: 'target host glob unclosed bracket', files: { [T]: target('metadata: {name: k}\nspec: {driver: ipset, hosts: ["web[12"]}\n') }, file: T, line: 4, col: 31, code: 'E_HOST_GLOB', message: /unclosed "\["/ },
  { name: 'target without metadata', files: { [T]: target('spec: {driver: ipset}\n') }, file: T, line: 1, col: 1, code: 'E_SCHEMA', message: /missing required field "metadata"/ },
  { name: 'pve-api URL with credentials', files: { [T]: target('metadata: {name: pve}\nspec:\n  driver: pve-api\n  options: {url: "https://root:secret@pve1:8006"}\n') }, file: T, line: 6, col: 18, code: 'E_SCHEMA', message: /"url": .* is not valid/ },
  // Nesting: the YAML parser recurses per level; past 64 the file is refused with a position.
  { name: 'flow lists nested 5,000 deep', files: { [B]: bans(`${'['.repeat(5000)}${']'.repeat(5000)}`) }, file: B, line: 5, col: 67, code: 'E_YAML_DEPTH', message: /^nesting deeper than 64 levels$/ },
  { name: 'flow mappings nested 3,000 deep', files: { [B]: bans(`${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`) }, file: B, line: 5, col: 253, code: 'E_YAML_DEPTH', message: /^nesting deeper than 64 levels$/ },
  { name: 'block sequences nested 10,000 deep on one line', files: { [B]: `${HEAD}bans:
  ${'- '.repeat(10_000)}1
` }, file: B, line: 5, col: 129, code: 'E_YAML_DEPTH', message: /^nesting deeper than 64 levels$/ },
  { name: 'block mappings nested 2,000 deep by indentation', files: { [B]: `${HEAD}bans:
${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i + 2)}${i === 0 ? '- ' : ''}k:`).join('\n')} 1
` }, file: B, line: 68, col: 66, code: 'E_YAML_DEPTH', message: /^nesting deeper than 64 levels$/ },
  { name: 'allow.yaml nested too deep', files: { [A]: allow(`{cidr: 192.0.2.0/28, reason: ${'['.repeat(100)}${']'.repeat(100)}}`) }, file: A, line: 4, col: 95, code: 'E_YAML_DEPTH', message: /nesting deeper than 64 levels/ },
  // Size: layouts other than the canonical one go through the YAML parser, whose cost per
  // byte is ~50× the line parser's, so they are read only up to 2 MiB; fmt rewrites them.
  { name: 'a 3 MiB ban list in block layout', files: { [B]: `${HEAD}bans:
${'  - cidr: 192.0.2.1\n    by: web1\n'.repeat(3 * 2 ** 20 / 32)}` }, file: B, line: 5, col: 1, code: 'E_NOT_CANONICAL', message: /^file is 3\.\d MiB and leaves the canonical layout here; other layouts are read only up to 2 MiB \(run fail2git fmt to rewrite it canonically\)$/ },
  { name: 'a canonical ban list with one hand-written line near the end', files: { [B]: bans(...Array.from({ length: 80_000 }, (_, i) => `{cidr: 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}, by: web1}`), '{cidr: 192.0.2.9,  by: web1}') }, file: B, line: 80_005, col: 1, code: 'E_NOT_CANONICAL', message: /leaves the canonical layout here/ },
  { name: 'a 3 MiB allow.yaml', files: { [A]: allow(...Array.from({ length: 3 * 2 ** 20 / 32 }, () => '{cidr: 192.0.2.0/28, reason: x}')) }, file: A, line: 1, col: 1, code: 'E_YAML_TOO_LARGE', message: /^file is 3\.\d MiB; YAML files are read only up to 2 MiB \(refusing to parse\)$/ },
];

// --- recorded Proxmox files ---
const CANDIDATES = [join(REPO_ROOT, '..', 'shared', 'fixtures', 'pve'), '/work/shared/fixtures/pve'];

/** The pve fixtures directory; throws (fails the test) when neither place has it. */
export function pveFixturesDir(): string {
  const found = CANDIDATES.find((d) => existsSync(join(d, 'README.md')));
  if (!found) throw new Error(`Proxmox fixtures not found (looked in ${CANDIDATES.join(', ')})`);
  return found;
}
