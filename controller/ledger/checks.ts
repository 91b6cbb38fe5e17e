/**
 * Semantic checks shared by every kind: canonical CIDRs, RFC 3339 times, duplicates.
 * They run on a LocatedDoc after the schema, so they are type-guarded: a field the
 * schema already reported as the wrong type is skipped here, not reported twice.
 *
 * A 100k-entry ledger runs these 300k times, so the common canonical spellings (dotted
 * quads, `…T…Z` times) take short exact paths; anything else goes to the general parsers.
 * Paths are built only when a problem is reported.
 */
import { tryParseCidr, CidrError, type Cidr } from '../net/cidr.js';
import { parseTime, formatTime } from '../lib/duration.js';
import type { Problem } from './types.js';
import type { LocatedDoc, PathSeg } from './located.js';

export class ProblemSink {
  readonly problems: Problem[] = [];
  constructor(
    readonly file: string,
    readonly doc: LocatedDoc,
  ) {}

  add(path: readonly PathSeg[], code: string, message: string, part: 'key' | 'value' = 'value'): void {
    const pos = this.doc.at(path, part);
    this.problems.push({ file: this.file, line: pos.line, col: pos.col, code, message });
  }
}

const V4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\/([1-9]|[12][0-9]|3[01]))?$/;

/**
 * A canonical IPv4 key (no leading zeros, prefix 1–31 or none, host bits zero) parsed
 * without ipaddr.js; undefined for anything else. Equal to parseCidr's result (tested).
 */
export function fastCanonicalV4(text: string): Cidr | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  const n = ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
  const prefix = m[5] === undefined ? 32 : Number(m[5]);
  if (prefix < 32 && n % 2 ** (32 - prefix) !== 0) return undefined; // host bits: the general parser says so
  return { key: text, family: 4, prefix, addr: BigInt(n) };
}

const V6 = /^[0-9a-f:]+(?:\/(?:[1-9][0-9]?|1[01][0-9]|12[0-7]))?$/;
const GROUP = /^(?:0|[1-9a-f][0-9a-f]{0,3})$/;

/** RFC 5952 text of eight 16-bit groups: lower-case hex, longest run (≥ 2) of zeros as `::`. */
export function formatV6Groups(g: readonly number[]): string {
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function v6Groups(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  const count = parts.reduce((n, p) => n + p.length, 0);
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const groups: number[] = [];
  for (const p of parts[0]!) {
    if (!GROUP.test(p)) return undefined;
    groups.push(parseInt(p, 16));
  }
  if (halves.length === 2) for (let k = count; k < 8; k++) groups.push(0);
  for (const p of parts[1] ?? []) {
    if (!GROUP.test(p)) return undefined;
    groups.push(parseInt(p, 16));
  }
  return groups;
}

/**
 * A canonical IPv6 key (RFC 5952, prefix 1–127 or none, host bits zero, not IPv4-mapped)
 * parsed without ipaddr.js; undefined for anything else. Equal to parseCidr's result (tested).
 */
export function fastCanonicalV6(text: string): Cidr | undefined {
  if (!V6.test(text)) return undefined;
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefix = slash === -1 ? 128 : Number(text.slice(slash + 1));
  const g = v6Groups(addrText);
  if (!g || formatV6Groups(g) !== addrText) return undefined;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return undefined; // mapped: general path
  const addr = BigInt('0x' + g.map((n) => n.toString(16).padStart(4, '0')).join(''));
  if (prefix < 128 && (addr & ((1n << BigInt(128 - prefix)) - 1n)) !== 0n) return undefined;
  return { key: text, family: 6, prefix, addr };
}

// Canonical inputs repeat across a run (ledger, allowlist, desired set), so keys are cached.
const cache = new Map<string, Cidr | CidrError>();

export function parseCidrCached(text: string): Cidr | CidrError {
  const fast = text.includes(':') ? fastCanonicalV6(text) : fastCanonicalV4(text);
  if (fast) return fast; // cheaper than a cache lookup, and keeps the cache small
  let c = cache.get(text);
  if (c === undefined) {
    if (cache.size > 200_000) cache.clear();
    c = tryParseCidr(text);
    cache.set(text, c);
  }
  return c;
}

/** Checks the `cidr` field `key` of the mapping at `base`; returns the network or undefined. */
export function checkCidr(sink: ProblemSink, base: readonly PathSeg[], key: string, value: unknown): Cidr | undefined {
  if (typeof value !== 'string') return undefined;
  const c = parseCidrCached(value);
  if (c instanceof CidrError) {
    sink.add([...base, key], c.code, c.message);
    return undefined;
  }
  return c;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// positions of the digits in YYYY-MM-DDTHH:MM:SSZ and of the fixed separators
const SEPARATORS: readonly [number, number][] = [[4, 0x2d], [7, 0x2d], [10, 0x54], [13, 0x3a], [16, 0x3a], [19, 0x5a]];

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** ms of a canonical `YYYY-MM-DDTHH:MM:SSZ` time, or undefined (then parseTime decides). */
export function fastCanonicalTime(text: string): number | undefined {
  if (text.length !== 20) return undefined;
  for (const [at, code] of SEPARATORS) if (text.charCodeAt(at) !== code) return undefined;
  const y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  const h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || s < 0) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = mo === 2 && leap ? 29 : DAYS[mo - 1];
  if (days === undefined || d < 1 || d > days || h > 23 || mi > 59 || s > 59) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Checks an RFC 3339 time; returns its canonical text (UTC, seconds) and ms. */
export function checkTime(sink: ProblemSink, base: readonly PathSeg[], key: string, value: unknown): { text: string; ms: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = fastCanonicalTime(value);
  if (ms !== undefined) return { text: value, ms };
  try {
    const d = parseTime(value);
    return { text: formatTime(d), ms: d.getTime() };
  } catch (err) {
    sink.add([...base, key], 'E_TIME', `"${key}": ${(err as Error).message}`);
    return undefined;
  }
}

/** Reports the second and later occurrences of a canonical key. */
export class DuplicateTracker {
  private readonly first = new Map<string, number>();
  constructor(
    private readonly sink: ProblemSink,
    /** the path of item i's key field, e.g. i → ['bans', i, 'cidr'] */
    private readonly pathOf: (i: number) => readonly PathSeg[],
  ) {}

  check(key: string, i: number, what = key): void {
    const seen = this.first.get(key);
    if (seen === undefined) {
      this.first.set(key, i);
      return;
    }
    this.sink.add(this.pathOf(i), 'E_DUPLICATE', `${what} is listed twice (first at line ${this.sink.doc.at(this.pathOf(seen)).line})`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Characters no ledger string needs and that forge output once printed: C0 and C1 controls
// (newline, tab, ESC…), DEL, line/paragraph separators, bidirectional overrides and
// isolates, and the byte order mark. Raw ones are refused in the text already; this catches
// the ones a double-quoted scalar writes as escapes ("\n", "\e", "\u202e").
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

/** The first unprintable character of `text` as `U+XXXX`, or undefined. */
export function unprintableIn(text: string): string | undefined {
  const m = UNPRINTABLE.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined;
}

/** Every string (and mapping key) of a document holding an unprintable character, after unescaping. */
export function unprintableProblems(doc: LocatedDoc, file: string): Problem[] {
  const out: Problem[] = [];
  const report = (path: readonly PathSeg[], part: 'key' | 'value', text: string, hex: string) => {
    const pos = doc.at(path, part);
    const what = path.length > 0 ? `"${String(path[path.length - 1])}"` : 'the document';
    out.push({ file, line: pos.line, col: pos.col, code: 'E_CONTROL_CHAR', message: `${part === 'key' ? 'a key' : what} holds control character ${hex} (${JSON.stringify(text).slice(0, 60)}); ledger strings must be printable` });
  };
  // One mutable path: a 100k-entry ban list must not allocate a path per string.
  const path: PathSeg[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      const hex = unprintableIn(v);
      if (hex) report([...path], 'value', v, hex);
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i]);
        path.pop();
      }
    } else if (isRecord(v)) {
      for (const k of Object.keys(v)) {
        path.push(k);
        const hex = unprintableIn(k);
        if (hex) report([...path], 'key', k, hex);
        walk(v[k]);
        path.pop();
      }
    }
  };
  walk(doc.value);
  return out;
}
