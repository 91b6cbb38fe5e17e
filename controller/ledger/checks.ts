/**
 * Semantic checks shared by every kind: canonical CIDRs, RFC 3339 times, duplicates.
 * They run on a LocatedDoc after the schema, so they are type-guarded: a field the
 * schema already reported as the wrong type is skipped here, not reported twice.
 *
 * A 100k-entry ledger runs these 300k times, so the common canonical spellings take short
 * exact paths (addresses: net/cidr.ts's scanners; `…T…Z` times: fastCanonicalTime below);
 * anything else goes to the general parsers.
 * Paths are built only when a problem is reported.
 */
import { parseCidrCached, compareCidr, CidrError, type Cidr } from '../net/cidr.js';
import { parseTime, formatTime } from '../lib/duration.js';
import { unprintableIn } from '../lib/printable.js';
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
// the fixed separators of YYYY-MM-DDTHH:MM:SSZ are at 4 (-), 7 (-), 10 (T), 13 (:), 16 (:) and 19 (Z)

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
  // SEPARATORS, unrolled: this runs twice per ban
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54 || text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a || text.charCodeAt(19) !== 0x5a) return undefined;
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

  // While items come strictly in address order (a canonical ledger does), none can repeat:
  // only their keys are listed, and the map is built only when the order first breaks.
  private inOrder = true;
  private last: Cidr | undefined;
  private readonly keys: string[] = [];
  private readonly items: number[] = [];

  /** check() for networks that usually come sorted: no map of 100k keys while they do. */
  checkNetwork(c: Cidr, i: number): void {
    if (this.inOrder) {
      if (this.last === undefined || compareCidr(this.last, c) < 0) {
        this.last = c;
        this.keys.push(c.key);
        this.items.push(i);
        return;
      }
    }
    this.check(c.key, i);
  }

  check(key: string, i: number, what = key): void {
    if (this.inOrder) {
      this.inOrder = false;
      for (let k = 0; k < this.keys.length; k++) this.first.set(this.keys[k]!, this.items[k]!);
      this.keys.length = 0;
      this.items.length = 0;
    }
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

// Raw unprintable characters are refused in the text already; unprintableProblems catches
// the ones a double-quoted scalar writes as escapes ("\n", "\e", "\u202e"). The set of
// unprintable characters is lib/printable.ts's, the one the renderers escape.
/** Every string (and mapping key) of a document holding an unprintable character, after unescaping. */
export function unprintableProblems(doc: LocatedDoc, file: string): Problem[] {
  const out: Problem[] = [];
  if (doc.printable === true) return out;
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
