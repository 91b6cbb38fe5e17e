/**
 * The core's only opinion about targets: what to add and what to remove so that a
 * target holds exactly the desired set. Pure; keys are canonical CIDRs, so plain
 * string comparison is exact (controller/net/cidr.ts guarantees one spelling per network).
 */
import type { DesiredEntry, ObservedEntry, Plan } from '../targets/types.js';

/** add = desired − observed (in desired order); remove = observed − desired (in observed order). */
export function diff(desired: readonly DesiredEntry[], observed: readonly ObservedEntry[]): Plan {
  // Both sides usually list the same keys in the same order (sorted by address), but for the
  // few a run changes: a common prefix holds keys on both sides, so nothing in it is added
  // or removed, and only what follows it needs maps. A run with no change builds none.
  const n = Math.min(desired.length, observed.length);
  let k = 0;
  while (k < n && desired[k]!.cidr === observed[k]!.cidr) k++;
  if (k === desired.length && k === observed.length) return { add: [], remove: [] };
  return diffAfter(desired, observed, k);
}

/** The diff of desired[k..] and observed[k..], where the first k keys of both are the same. */
function diffAfter(desired: readonly DesiredEntry[], observed: readonly ObservedEntry[], k: number): Plan {
  // One map over what the target holds, marked as desired keys match: no second set over
  // the desired side (this runs on every tick, at 100k entries).
  const matched = new Map<string, boolean>();
  for (let i = k; i < observed.length; i++) matched.set(observed[i]!.cidr, false);
  const add: DesiredEntry[] = [];
  const queued = new Set<string>();
  let hits = 0;
  for (let i = k; i < desired.length; i++) {
    const d = desired[i]!;
    const m = matched.get(d.cidr);
    if (m === false) {
      matched.set(d.cidr, true);
      hits++;
    } else if (m === undefined && !queued.has(d.cidr)) {
      queued.add(d.cidr);
      add.push(d);
    }
  }
  const remove: ObservedEntry[] = [];
  if (hits < matched.size) {
    const seen = new Set<string>();
    for (let i = k; i < observed.length; i++) {
      const o = observed[i]!;
      // A target reporting one key twice (two raw spellings) gets each spelling removed once.
      const id = o.raw ?? o.cidr;
      if (matched.get(o.cidr) === false && !seen.has(id)) {
        seen.add(id);
        remove.push(o);
      }
    }
  }
  if (k === 0 || add.length + remove.length === 0) return { add, remove };
  // A key of the common prefix is on both sides: neither added nor removed.
  const inPrefix = prefixKeys(desired, k, add.length + remove.length);
  return { add: add.filter((d) => !inPrefix(d.cidr)), remove: remove.filter((o) => !inPrefix(o.cidr)) };
}

/** Membership in the first k desired keys: a scan for a few questions, a set for many. */
function prefixKeys(desired: readonly DesiredEntry[], k: number, questions: number): (key: string) => boolean {
  if (questions <= 16) {
    return (key) => {
      for (let i = 0; i < k; i++) if (desired[i]!.cidr === key) return true;
      return false;
    };
  }
  const set = new Set<string>();
  for (let i = 0; i < k; i++) set.add(desired[i]!.cidr);
  return (key) => set.has(key);
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.add.length === 0 && plan.remove.length === 0;
}

/** Entries a run had to put back or take out although the ledger did not ask for it. */
export interface Drift {
  /** desired before and after, yet missing from the target: someone deleted them */
  readded: number;
  /** never desired, yet in the target's own namespace: someone added them */
  removed: number;
}

/**
 * Drift is what a plan changes that the previous desired set does not explain: an add
 * of an entry that was already desired last run, a removal of one that never was.
 * Without a previous desired set for this target there is no baseline: zero drift.
 */
export function classifyDrift(plan: Plan, previousDesired: ReadonlySet<string> | undefined): Drift {
  if (!previousDesired) return { readded: 0, removed: 0 };
  let readded = 0;
  let removed = 0;
  for (const a of plan.add) if (previousDesired.has(a.cidr)) readded++;
  for (const r of plan.remove) if (!previousDesired.has(r.cidr)) removed++;
  return { readded, removed };
}
