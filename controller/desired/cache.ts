/**
 * The desired set of the last good commit, cached in stateDir for runs whose tip has not
 * moved. Allowlist, breadth and protected-address decisions do not depend on the clock,
 * and time only moves forward, so the set at any later moment is the cached set minus the
 * entries that have expired since: a filter on numbers, not a re-parse of the ledger.
 * Valid only for the same commit, the same protected addresses, and a clock not earlier
 * than when it was computed; otherwise the caller computes afresh (and rewrites it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ledger, PolicySpec, TargetDoc } from '../ledger/types.js';
import type { DesiredEntry } from '../targets/types.js';
import { writeFileAtomicSync } from '../lib/files.js';
import { fastCanonicalTime } from '../ledger/checks.js';

const FILE = 'desired-cache.json';

export interface DesiredCache {
  rev: string;
  /** sorted protected keys, joined: the cache is for this exact protection */
  protectedKey: string;
  /** ms since epoch when it was computed */
  computedAt: number;
  policy: PolicySpec;
  targets: TargetDoc[];
  /** the commit's allowlist: the guard's limits need it on runs that read only this cache */
  allow: string[];
  /** skip counts that cannot change with time (allowlisted, too-broad, protected, expired at computedAt) */
  skipped: Record<string, number>;
  /** columns, in desired (sorted) order; expires 0 = permanent (with its text, so nothing is reformatted per run); by/jail index `dict`, -1 = absent */
  cidr: string[];
  expires: number[];
  expiresText: string[];
  by: number[];
  jail: number[];
  /** `at` (index into `dict`, -1 = absent) and `count` (0 = absent); older caches lack them */
  at?: number[];
  count?: number[];
  dict: string[];
}

export interface LiveSet {
  entries: DesiredEntry[];
  skipped: Record<string, number>;
  nextExpiry?: Date;
}

export function protectedKeyOf(keys: readonly string[]): string {
  return [...keys].sort().join(',');
}

/** Packs a freshly computed desired set. Pure. */
export function buildCache(rev: string, ledger: Pick<Ledger, 'policy' | 'targets' | 'allow'>, protectedKey: string, computedAt: Date, entries: readonly DesiredEntry[], skipped: Record<string, number>): DesiredCache {
  const dict: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string | undefined): number => {
    if (s === undefined) return -1;
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = dict.push(s) - 1));
    return i;
  };
  const c: DesiredCache = {
    rev, protectedKey, computedAt: computedAt.getTime(), policy: ledger.policy, targets: ledger.targets, allow: ledger.allow.map((a) => a.cidr), skipped,
    cidr: [], expires: [], expiresText: [], by: [], jail: [], at: [], count: [], dict,
  };
  for (const e of entries) {
    c.cidr.push(e.cidr);
    c.expires.push(e.expires === undefined ? 0 : (fastCanonicalTime(e.expires) ?? Date.parse(e.expires)));
    c.expiresText.push(e.expires ?? '');
    c.by.push(intern(e.by));
    c.jail.push(intern(e.jail));
    c.at!.push(intern(e.at));
    c.count!.push(e.count ?? 0);
  }
  return c;
}

/** The desired set at `now` from a cache computed at or before `now`. Pure. */
export function liveFromCache(c: DesiredCache, now: Date): LiveSet {
  const nowMs = now.getTime();
  const entries: DesiredEntry[] = [];
  let expired = 0;
  let next = Infinity;
  for (let i = 0; i < c.cidr.length; i++) {
    const exp = c.expires[i]!;
    if (exp !== 0 && exp <= nowMs) {
      expired++;
      continue;
    }
    const cidr = c.cidr[i]!;
    const e: DesiredEntry = { cidr, family: cidr.includes(':') ? 6 : 4 };
    if (exp !== 0) {
      e.expires = c.expiresText[i]!;
      if (exp < next) next = exp;
    }
    const by = c.by[i]!;
    const jail = c.jail[i]!;
    if (by >= 0) e.by = c.dict[by]!;
    if (jail >= 0) e.jail = c.dict[jail]!;
    const at = c.at?.[i] ?? -1;
    const count = c.count?.[i] ?? 0;
    if (at >= 0) e.at = c.dict[at]!;
    if (count > 0) e.count = count;
    entries.push(e);
  }
  const skipped = { ...c.skipped };
  if (expired > 0) skipped.expired = (skipped.expired ?? 0) + expired;
  const live: LiveSet = { entries, skipped };
  if (next !== Infinity) live.nextExpiry = new Date(next);
  return live;
}

/** Whether a cache may answer for this commit, protection and moment. */
export function cacheUsable(c: DesiredCache | undefined, rev: string, protectedKey: string, now: Date): c is DesiredCache {
  return c !== undefined && c.rev === rev && c.protectedKey === protectedKey && now.getTime() >= c.computedAt;
}

export function readDesiredCache(stateDir: string, rev: string): DesiredCache | undefined {
  try {
    const c = JSON.parse(readFileSync(join(stateDir, FILE), 'utf8')) as DesiredCache;
    return c && c.rev === rev && Array.isArray(c.cidr) && Array.isArray(c.expiresText) && Array.isArray(c.targets) && Array.isArray(c.allow) ? c : undefined;
  } catch {
    return undefined;
  }
}

export function writeDesiredCache(stateDir: string, c: DesiredCache): void {
  writeFileAtomicSync(join(stateDir, FILE), JSON.stringify(c), { mkdir: true });
}
