/**
 * Semantic checks shared by every kind: canonical CIDRs, RFC 3339 times, duplicates.
 * They run on a LocatedDoc after the schema, so they are type-guarded: a field the
 * schema already reported as the wrong type is skipped here, not reported twice.
 */
import { tryParseCidr, CidrError, type Cidr } from '../cidr.js';
import { parseTime, formatTime } from '../duration.js';
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

// Canonical inputs repeat across a run (ledger, allowlist, desired set); parsing is the
// hot spot of a 100k-entry load, so canonical keys are cached.
const cache = new Map<string, Cidr | CidrError>();

export function parseCidrCached(text: string): Cidr | CidrError {
  let c = cache.get(text);
  if (c === undefined) {
    if (cache.size > 500_000) cache.clear();
    c = tryParseCidr(text);
    cache.set(text, c);
  }
  return c;
}

/** Checks the `cidr` field at `path`; returns the parsed network or undefined. */
export function checkCidr(sink: ProblemSink, path: readonly PathSeg[], value: unknown): Cidr | undefined {
  if (typeof value !== 'string') return undefined;
  const c = parseCidrCached(value);
  if (c instanceof CidrError) {
    sink.add(path, c.code, c.message);
    return undefined;
  }
  return c;
}

/** Checks an RFC 3339 time at `path`; returns its canonical text (UTC, seconds) and ms. */
export function checkTime(sink: ProblemSink, path: readonly PathSeg[], value: unknown): { text: string; ms: number } | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const d = parseTime(value);
    return { text: formatTime(d), ms: d.getTime() };
  } catch (err) {
    sink.add(path, 'E_TIME', `"${String(path[path.length - 1])}": ${(err as Error).message}`);
    return undefined;
  }
}

/** Reports the second and later occurrences of a canonical key. */
export class DuplicateTracker {
  private readonly first = new Map<string, readonly PathSeg[]>();
  constructor(private readonly sink: ProblemSink) {}

  check(key: string, path: readonly PathSeg[], what = key): void {
    const seen = this.first.get(key);
    if (seen === undefined) {
      this.first.set(key, path);
      return;
    }
    this.sink.add(path, 'E_DUPLICATE', `${what} is listed twice (first at line ${this.sink.doc.at(seen).line})`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
