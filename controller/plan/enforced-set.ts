/**
 * What one target enforces of the desired set, pure:
 *
 * - minimal: an entry covered by another enforced entry of the same target (`203.0.113.7`
 *   under `203.0.113.0/24`) is folded out; it comes back by itself once the cover expires or
 *   is lifted, because the set is recomputed from the desired set every run;
 * - within the target's capacity: when the target cannot hold every entry, the most
 *   important ones that fit are enforced, in ENFORCEMENT_ORDER; the rest are left out (and
 *   counted), and the target keeps enforcing new bans, which rank first among equals.
 *
 * Entries keep their desired (address) order in the result, so diffs stay stable.
 */
import { cidrContains, compareCidr, parseCidrCached, type Cidr } from '../net/cidr.js';
import type { DesiredEntry } from '../targets/types.js';

/**
 * How entries rank when a target is full, most important first (documented in
 * docs/reconcile.md):
 * 1. permanent bans (no `expires`) and manual bans (no `jail`: made by a person);
 * 2. then the most recent (`at`, when the ban was last made; a repeat offender's ban is
 *    re-made, so it moves up again); entries without `at` rank after those with one;
 * 3. then the most offences (`count`);
 * 4. then the latest expiry; then address order.
 * A network that covers other entries ranks as its most important member.
 */
export const ENFORCEMENT_ORDER = 'permanent and manual bans first, then newest (at), then most offences (count), then latest expiry';

/** Given entries in ENFORCEMENT_ORDER, how many of them (a prefix) the target can hold; undefined = no limit. */
export type CapacityFn = (ranked: readonly DesiredEntry[]) => number | undefined;

export interface EnforcedSet {
  /** what the target should hold, in desired order */
  entries: DesiredEntry[];
  /** desired entries left out because an enforced entry covers them */
  folded: number;
  /** desired entries not enforced for lack of capacity (a left-out network's members included) */
  leftOut: number;
  /** how many entries the target can hold, when it said */
  capacity?: number;
}

interface Group {
  /** index of the covering (outer) entry in the desired list */
  outer: number;
  /** its members covered by it (indices), exact duplicates included */
  members: number[];
}

/** Outer entries and what each covers; `desired` in any order. */
function groups(desired: readonly DesiredEntry[]): Group[] {
  const parsed: { c: Cidr; i: number }[] = [];
  for (let i = 0; i < desired.length; i++) {
    const c = parseCidrCached(desired[i]!.cidr);
    if (!(c instanceof Error)) parsed.push({ c, i });
  }
  // the desired set is address-sorted already; then this is one linear check
  const sorted = parsed.every((p, k) => k === 0 || compareCidr(parsed[k - 1]!.c, p.c) <= 0);
  if (!sorted) parsed.sort((a, b) => compareCidr(a.c, b.c) || a.i - b.i);
  // In address order (broader first at one address) a cover precedes everything it covers,
  // and outer networks never overlap: each entry is either inside the last outer or a new one.
  const out: Group[] = [];
  let last: Cidr | undefined;
  for (const { c, i } of parsed) {
    if (last && cidrContains(last, c)) {
      out[out.length - 1]!.members.push(i);
      continue;
    }
    out.push({ outer: i, members: [] });
    last = c;
  }
  return out;
}

/** Desired entries with covered ones folded out; nothing else changes. */
export function foldCovered(desired: readonly DesiredEntry[]): { entries: DesiredEntry[]; folded: number } {
  const gs = groups(desired);
  const keep = gs.map((g) => g.outer).sort((a, b) => a - b);
  return { entries: keep.map((i) => desired[i]!), folded: desired.length - keep.length };
}

/** Sort key of one entry: smaller is more important. */
function rank(e: DesiredEntry): [number, number, number, number] {
  const tier = e.expires === undefined || e.jail === undefined ? 0 : 1;
  const at = e.at === undefined ? Number.NEGATIVE_INFINITY : Date.parse(e.at);
  const expires = e.expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(e.expires);
  return [tier, -(Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at), -(e.count ?? 1), -(Number.isNaN(expires) ? 0 : expires)];
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k]! < b[k]! ? -1 : 1;
  return 0;
}

/** Entries in ENFORCEMENT_ORDER (a stable sort: address order among equals). */
export function rankEntries(entries: readonly DesiredEntry[]): DesiredEntry[] {
  return entries.map((e, i) => ({ e, i, r: rank(e) })).sort((a, b) => compareRank(a.r, b.r) || a.i - b.i).map((x) => x.e);
}

/**
 * The set a target enforces: `desired` folded, then cut to `capacity` in ENFORCEMENT_ORDER.
 * `capacity` is asked only when the folded set is not empty, with the candidates ranked.
 */
export function enforcedSet(desired: readonly DesiredEntry[], capacity?: CapacityFn): EnforcedSet {
  const gs = groups(desired);
  const foldedAll = gs.reduce((n, g) => n + g.members.length, 0);
  const byAddress = (list: Group[]): DesiredEntry[] => list.map((g) => g.outer).sort((a, b) => a - b).map((i) => desired[i]!);
  if (!capacity || gs.length === 0) return { entries: byAddress(gs), folded: foldedAll, leftOut: 0 };
  const scored = gs.map((g, k) => {
    let best = rank(desired[g.outer]!);
    for (const m of g.members) {
      const r = rank(desired[m]!);
      if (compareRank(r, best) < 0) best = r;
    }
    return { g, k, best };
  }).sort((a, b) => compareRank(a.best, b.best) || a.k - b.k);
  const ranked = scored.map((s) => desired[s.g.outer]!);
  const cap = capacity(ranked);
  if (cap === undefined) return { entries: byAddress(gs), folded: foldedAll, leftOut: 0 };
  const n = Math.max(0, Math.floor(cap));
  const kept = scored.slice(0, n).map((s) => s.g);
  const dropped = scored.slice(n).map((s) => s.g);
  return {
    entries: byAddress(kept),
    folded: kept.reduce((x, g) => x + g.members.length, 0),
    leftOut: dropped.reduce((x, g) => x + 1 + g.members.length, 0),
    capacity: n,
  };
}

/** The smaller of two capacities; undefined means no limit. */
export function minCapacity(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
