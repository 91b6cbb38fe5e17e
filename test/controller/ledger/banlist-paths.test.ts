/**
 * Property test: the canonical fast path and the full YAML parser must agree on every
 * input the fast path accepts — same values, same positions, same problems. Inputs are
 * random ledgers in canonical layout and random mutations of their lines with tricky
 * YAML tokens, so the fast path is pushed to its edges and must either bow out (null)
 * or give exactly the YAML parser's answer.
 */
import { describe, it, expect } from 'vitest';
import { parse as yamlParse } from 'yaml';
import { checkBanList, formatBanList, locateBanList, locateBanListYaml, parseBanList } from '../../../controller/ledger/banlist.js';
import { parseBanListFast } from '../../../controller/ledger/banlist-lines.js';
import type { BanEntry } from '../../../controller/ledger/types.js';
import type { LocatedDoc, PathSeg } from '../../../controller/ledger/located.js';
import { rng } from '../../helpers/rng.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const TOKENS = [
  'web1', 'sshd', 'postfix', 'a b', 'a  b', 'x y z', 'true', 'True', 'FALSE', 'null', 'Null', '~', '', ' ', '123', '007', '-1', '+5', '1.5', '1e3', '.5',
  '0x1f', '0o17', '.inf', '-.Inf', '.nan', '2026-11-22T09:00:00Z', '2026-11-22 09:00:00', '2026-13-01T00:00:00Z', '2001:db8::1', '::1', 'a: b', 'a:b', 'a:',
  'a #b', 'a#b', '#x', '{x}', '[1]', '&a x', '*a', '!tag x', '!!str x', '-x', '- x', '?x', ':x', '@x', '%x', '`x', '|', '>', 'x,y', 'x, y', '"q"', "'s'",
  '"unterminated', '"a\\x41"', '"a\\e"', '"\\u00e9t\\u00e9"', '"a\\/b"', '"a\\"b"', '"a\\\\b"', '"a\\tb"', '"\\ud800"', '"\\N"', '"a\\ b"', "'it''s'",
  'é', 'ünïcödé text', '日本', 'tab\there', '"tab\there"', '"nl\\nx"', '(paren)', 'a=b', 'a+b@c', 'x/y', '198.51.100.7', '10.0.0.1/24', '0.0.0.0/0',
  '"2001:db8::/48"', '2001:DB8::/48', '"::ffff:192.0.2.1"', '192.0.2.300', '99999999999999999999', '1000001', '0', 'a}', 'a{', '"a}"', '"x", y',
  'x  ', ' x', '"\\u0085"', '"\u0085"', '"\u2028"', '"\ufeff"',
];
const SAFE = ['web1', 'sshd', '"quoted, text"', '3', '2026-11-22T09:00:00Z', '"2001:db8::/48"', 'two words'];
const KEYS = ['cidr', 'expires', 'at', 'by', 'jail', 'reason', 'count', 'foo', 'true', 'null', '1', '"cidr"', 'a b', 'Cidr', '_x'];

function randomCidr(r: Rand): string {
  if (r() < 0.6) {
    const o = () => Math.floor(r() * 256);
    const prefix = pick(r, [undefined, undefined, 32, 24, 16, 8, 0, 33]);
    const base = `${o()}.${o()}.${o()}.${prefix !== undefined && prefix < 32 ? 0 : o()}`;
    return prefix === undefined ? base : `${base}/${prefix}`;
  }
  const h = () => Math.floor(r() * 65536).toString(16);
  return pick(r, [`2001:db8:${h()}::${h()}`, `2001:db8:${h()}::/48`, `2001:db8::${h()}/64`, `fe80::${h()}`, `::ffff:192.0.2.${Math.floor(r() * 256)}`]);
}

function randomTime(r: Rand): string {
  const d = new Date(Date.UTC(2026, 10, 1) + Math.floor(r() * 60 * 86400) * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomEntry(r: Rand): BanEntry {
  const e: BanEntry = { cidr: randomCidr(r) };
  if (r() < 0.7) e.expires = randomTime(r);
  if (r() < 0.8) e.at = randomTime(r);
  if (r() < 0.8) e.by = pick(r, ['web1', 'mail1', 'alice', 'bob b', 'pve-node_3']);
  if (r() < 0.5) e.jail = pick(r, ['sshd', 'postfix', 'nginx-http-auth', 'recidive']);
  if (r() < 0.4) e.reason = pick(r, TOKENS.filter((t) => !t.startsWith('"') && !t.startsWith("'")));
  if (r() < 0.5) e.count = Math.floor(r() * 10) + 1;
  return e;
}

/** A canonical-shaped entry line from arbitrary key/value tokens. */
function randomLine(r: Rand): string {
  const n = 1 + Math.floor(r() * 5);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = i === 0 && r() < 0.8 ? 'cidr' : pick(r, KEYS);
    const value = key === 'cidr' && r() < 0.5 ? randomCidr(r) : r() < 0.6 ? pick(r, SAFE) : pick(r, TOKENS);
    parts.push(`${key}: ${value}`);
  }
  return `  - {${parts.join(', ')}}`;
}

function mutate(r: Rand, text: string): string {
  const lines = text.split('\n');
  const i = Math.floor(r() * lines.length);
  const line = lines[i] ?? '';
  const pos = Math.floor(r() * (line.length + 1));
  const insert = pick(r, [' ', ',', ':', '#', '"', "'", '}', '{', '\t', 'x', '- ', ', foo: 1', ' # c', '\\']);
  switch (Math.floor(r() * 6)) {
    case 0: lines[i] = line.slice(0, pos) + insert + line.slice(pos); break;
    case 1: lines[i] = line.slice(0, pos) + line.slice(pos + 1); break;
    case 2: lines.splice(i, 0, pick(r, ['', '# comment', '---', '  # indented', 'bans:'])); break;
    case 3: lines[i] = randomLine(r); break;
    case 4: lines.splice(i, 0, randomLine(r)); break;
    default: lines[i] = line.replace(/^ {2}/, pick(r, ['   ', ' ', '  ', '\t'])); break;
  }
  return lines.join('\n');
}

function pathsOf(doc: LocatedDoc): PathSeg[][] {
  const paths: PathSeg[][] = [[], ['apiVersion'], ['kind'], ['bans'], ['bans', 99999], ['nope']];
  const bans = (doc.value as { bans?: unknown }).bans;
  if (Array.isArray(bans)) {
    bans.forEach((b, i) => {
      paths.push(['bans', i], ['bans', i, 'missing']);
      if (b && typeof b === 'object') for (const k of Object.keys(b)) paths.push(['bans', i, k]);
    });
  }
  return paths;
}

/** formatBanList needs CIDRs that parse; invalid ones are covered by the line tests. */
function formattable(e: BanEntry): boolean {
  try {
    formatBanList([e]);
    return true;
  } catch {
    return false;
  }
}

/** Asserts fast and YAML paths agree on `text`; returns whether the fast path took it. */
function assertAgree(text: string): boolean {
  const fast = locateBanList(text, 'bans/active.yaml');
  const slow = locateBanListYaml(text, 'bans/active.yaml');
  if (!fast.fast) return false;
  expect(slow.problems, text).toEqual([]);
  const f = fast.doc!;
  const s = slow.doc!;
  expect(f.value, text).toEqual(s.value);
  expect(f.value, text).toEqual(yamlParse(text));
  for (const p of pathsOf(s)) {
    expect(f.at(p, 'value'), `${JSON.stringify(p)} value in\n${text}`).toEqual(s.at(p, 'value'));
    expect(f.at(p, 'key'), `${JSON.stringify(p)} key in\n${text}`).toEqual(s.at(p, 'key'));
  }
  expect(checkBanList(f, 'bans/active.yaml'), text).toEqual(checkBanList(s, 'bans/active.yaml'));
  return true;
}

describe('BanList fast path vs full YAML parser', () => {
  it('agree on random canonical ledgers, which the fast path always takes', () => {
    const r = rng(1);
    for (let n = 0; n < 300; n++) {
      const entries = Array.from({ length: Math.floor(r() * 12) }, () => randomEntry(r)).filter(formattable);
      const header = pick(r, ['', '# header\n', '# a\n#b\n\n', '\n# after blank\n']);
      const text = formatBanList(entries, header);
      expect(assertAgree(text), text).toBe(true);
    }
  });

  it('agree on canonical-shaped lines built from tricky YAML tokens', () => {
    const r = rng(2);
    let taken = 0;
    for (let n = 0; n < 2000; n++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 4) }, () => randomLine(r));
      const text = `# h\napiVersion: fail2git/v1\nkind: BanList\nbans:\n${lines.join('\n')}\n`;
      if (assertAgree(text)) taken++;
    }
        expect(taken).toBeGreaterThan(150); // the fast path is exercised, not just bypassed
  });

  it('agree on random mutations of canonical files', () => {
    const r = rng(3);
    let taken = 0;
    for (let n = 0; n < 1000; n++) {
      const entries = Array.from({ length: 4 }, () => randomEntry(r)).filter(formattable);
      let text = formatBanList(entries, '# h\n');
      for (let m = 0; m < 1 + Math.floor(r() * 3); m++) text = mutate(r, text);
      if (assertAgree(text)) taken++;
    }
        expect(taken).toBeGreaterThan(100);
  });

  it('round-trips: parseBanList(formatBanList(x)) gives x back, canonical, via the fast path', () => {
    const r = rng(4);
    for (let n = 0; n < 200; n++) {
      const entries: BanEntry[] = [];
      const seen = new Set<string>();
      for (let k = 0; k < 8; k++) {
        const e = randomEntry(r);
        if (!formattable(e)) continue;
        const once = parseBanList(formatBanList([e]));
        if (once.problems.length === 0 && !seen.has(once.bans[0]!.cidr)) {
          seen.add(once.bans[0]!.cidr);
          entries.push(once.bans[0]!);
        }
      }
      const text = formatBanList(entries, '# kept\n');
      expect(parseBanListFast(text)).not.toBeNull();
      const back = parseBanList(text);
      expect(back.problems).toEqual([]);
      expect(back.header).toBe('# kept\n');
      expect(formatBanList(back.bans, back.header)).toBe(text);
      expect(new Set(back.bans.map((b) => JSON.stringify(b)))).toEqual(new Set(entries.map((b) => JSON.stringify(b))));
    }
  });
});
