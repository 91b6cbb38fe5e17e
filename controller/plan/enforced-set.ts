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
import { cidrContains, compareCidr, parseCidrCached, scanV4, type Cidr } from '../net/cidr.js';
import type { DesiredEntry } from '../targets/types.js';

/**
 * How entries rank when a target is full, most important first (documented in
 * docs/reconcile.md):
 * 1. permanent bans (no `expires`) and manual bans (no `jail`: made by a person);
 * 2. then the most recent (`at`, when the ban was last made; a repeat offender's ban is
 *    re-made, so it moves up again); entries without `at` rank after those with one;
 * 3. then the most offences (`count`);
 * 4. then the latest expiry;
 * 5. among exact equals: new since the previous run first, then what the target already
 *    holds (so a full target does not trade entries back and forth), then address order.
 * A network that covers other entries ranks as its most important member.
 */
export const ENFORCEMENT_ORDER = 'permanent and manual bans first, then newest (at), then most offences (count), then latest expiry, then new since the last run';

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

// Every target of a run gets the same desired list: fold it once.
const folds = new WeakMap<readonly DesiredEntry[], Group[]>();

/** Outer entries and what each covers; `desired` in any order (not changed afterwards). */
function groups(desired: readonly DesiredEntry[]): Group[] {
  let gs = folds.get(desired);
  if (!gs) folds.set(desired, (gs = computeGroups(desired)));
  return gs;
}

/** One entry as the fold compares it: IPv4 as a plain number (no BigInt: 100k per run), IPv6 as a Cidr. */
interface Item {
  i: number;
  family: 4 | 6;
  prefix: number;
  /** IPv4 address as an unsigned 32-bit number */
  v4: number;
  v6?: Cidr;
}

function item(e: DesiredEntry, i: number): Item | undefined {
  if (e.family === 4) {
    const s = scanV4(e.cidr);
    if (s) return { i, family: 4, prefix: s.prefix, v4: s.value };
  }
  const c = parseCidrCached(e.cidr);
  if (c instanceof Error) return undefined;
  return c.family === 4 ? { i, family: 4, prefix: c.prefix, v4: Number(c.addr) } : { i, family: 6, prefix: c.prefix, v4: 0, v6: c };
}

function compareItems(a: Item, b: Item): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.family === 4) return a.v4 - b.v4 || a.prefix - b.prefix;
  return compareCidr(a.v6!, b.v6!);
}

function covers(outer: Item, inner: Item): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  if (outer.family === 6) return cidrContains(outer.v6!, inner.v6!);
  const size = 2 ** (32 - outer.prefix);
  return Math.floor(inner.v4 / size) === Math.floor(outer.v4 / size);
}

function computeGroups(desired: readonly DesiredEntry[]): Group[] {
  const parsed: Item[] = [];
  for (let i = 0; i < desired.length; i++) {
    const it = item(desired[i]!, i);
    if (it) parsed.push(it);
  }
  // the desired set is address-sorted already; then this is one linear check
  let sorted = true;
  for (let k = 1; k < parsed.length && sorted; k++) sorted = compareItems(parsed[k - 1]!, parsed[k]!) <= 0;
  if (!sorted) parsed.sort((a, b) => compareItems(a, b) || a.i - b.i);
  // In address order (broader first at one address) a cover precedes everything it covers,
  // and outer networks never overlap: each entry is either inside the last outer or a new one.
  const out: Group[] = [];
  let last: Item | undefined;
  for (const it of parsed) {
    if (last && covers(last, it)) {
      out[out.length - 1]!.members.push(it.i);
      continue;
    }
    out.push({ outer: it.i, members: [] });
    last = it;
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
 * `capacity` is asked only when the folded set is not empty: first with the candidates in
 * address order (when they all fit, that is the answer), then ranked.
 */
/** What breaks exact ties in ENFORCEMENT_ORDER (asked only when a target is full). */
export interface TieBreak {
  /** keys the target holds now: among equals they keep their place, so a full target does not churn */
  held?: () => ReadonlySet<string>;
  /** which of `probe` the previous run desired (undefined: not known): among equals, what is new this run comes first */
  previouslyDesired?: (probe: ReadonlySet<string>) => ReadonlySet<string> | undefined;
  /**
   * Networks the target already bans through members fail2git did not make (a hand-made
   * member of a Proxmox IPSet): an entry equal to or inside one is enforced already, and
   * adding it would be refused (Proxmox holds one member per CIDR) or overlap. Folded too.
   */
  coveredElsewhere?: readonly string[];
}

/** The groups whose outer entry is equal to or inside one of `networks`. */
function splitCoveredElsewhere(desired: readonly DesiredEntry[], gs: Group[], networks: readonly string[]): { kept: Group[]; elsewhere: Group[] } {
  const sorted = networks.map((k, i) => item({ cidr: k, family: k.includes(':') ? 6 : 4 }, i)).filter((x): x is Item => x !== undefined).sort(compareItems);
  // only the outermost of them matter, and those never overlap
  const foreign: Item[] = [];
  for (const f of sorted) if (foreign.length === 0 || !covers(foreign[foreign.length - 1]!, f)) foreign.push(f);
  if (foreign.length === 0) return { kept: gs, elsewhere: [] };
  const kept: Group[] = [];
  const elsewhere: Group[] = [];
  for (const g of gs) {
    const o = item(desired[g.outer]!, g.outer);
    // the last foreign network at or before o in address order is the only one that can cover it
    let lo = 0;
    let hi = foreign.length - 1;
    let at = -1;
    while (o && lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compareItems(foreign[mid]!, o) <= 0) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    (o && at >= 0 && covers(foreign[at]!, o) ? elsewhere : kept).push(g);
  }
  return { kept, elsewhere };
}

export function enforcedSet(desired: readonly DesiredEntry[], capacity?: CapacityFn, ties: TieBreak = {}): EnforcedSet {
  let gs = groups(desired);
  let foldedAll = gs.reduce((n, g) => n + g.members.length, 0);
  if (ties.coveredElsewhere && ties.coveredElsewhere.length > 0) {
    const split = splitCoveredElsewhere(desired, gs, ties.coveredElsewhere);
    gs = split.kept;
    foldedAll = gs.reduce((n, g) => n + g.members.length, 0) + split.elsewhere.reduce((n, g) => n + 1 + g.members.length, 0);
  }
  const extraFolded = foldedAll - gs.reduce((n, g) => n + g.members.length, 0);
  const byAddress = (list: Group[]): DesiredEntry[] => list.map((g) => g.outer).sort((a, b) => a - b).map((i) => desired[i]!);
  if (!capacity || gs.length === 0) return { entries: byAddress(gs), folded: foldedAll, leftOut: 0 };
  // when everything fits in any order, ranking (a sort of the whole set) is not needed
  const all = byAddress(gs);
  const roomy = capacity(all);
  if (roomy === undefined || roomy >= all.length) return { entries: all, folded: foldedAll, leftOut: 0 };
  // Exact ties (a ledger without `at`, or bans made in the same second): a ban new since the
  // previous run first, so the newest bans land even then; then what the target holds, so
  // the left-out ones stay out instead of trading places every run.
  const held = ties.held?.() ?? new Set<string>();
  const keys = new Set<string>();
  for (const g of gs) for (const i of [g.outer, ...g.members]) keys.add(desired[i]!.cidr);
  const before = ties.previouslyDesired?.(keys);
  const scored = gs.map((g, k) => {
    let best = rank(desired[g.outer]!);
    let fresh = false;
    for (const i of [g.outer, ...g.members]) {
      const r = rank(desired[i]!);
      if (compareRank(r, best) < 0) best = r;
      if (before && !before.has(desired[i]!.cidr)) fresh = true;
    }
    return { g, k, best: [...best, fresh ? 0 : 1, held.has(desired[g.outer]!.cidr) ? 0 : 1] };
  }).sort((a, b) => compareRank(a.best, b.best) || a.k - b.k);
  const ranked = scored.map((s) => desired[s.g.outer]!);
  const cap = capacity(ranked);
  if (cap === undefined) return { entries: byAddress(gs), folded: foldedAll, leftOut: 0 };
  const n = Math.max(0, Math.floor(cap));
  const kept = scored.slice(0, n).map((s) => s.g);
  const dropped = scored.slice(n).map((s) => s.g);
  return {
    entries: byAddress(kept),
    folded: extraFolded + kept.reduce((x, g) => x + g.members.length, 0),
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
