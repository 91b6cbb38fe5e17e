/**
 * The repair marker: how a driver asks for an apply() when its entries are right but its
 * enforcement is not (a DROP rule deleted by hand, a chain edited, `enforce` changed).
 *
 * The controller only applies non-empty plans, and observe() must report entries truthfully
 * (hiding them would also hide the extras that need removing). So observe() adds one marker
 * entry: `0.0.0.0/0`, a key no ledger can hold (cidr.ts refuses zero-length prefixes), so the
 * diff always plans its removal. apply() treats that removal as "repair enforcement", and the
 * marker is gone from the next observe(). It counts as one drift removal in the run's status.
 */
import type { ObservedEntry, Plan } from './types.js';

export const REPAIR_CIDR = '0.0.0.0/0';

export function repairMarker(why: string): ObservedEntry {
  return { cidr: REPAIR_CIDR, family: 4, raw: `fail2git:repair ${why}` };
}

export function isRepairMarker(e: ObservedEntry): boolean {
  return e.cidr === REPAIR_CIDR;
}

/** The plan without the marker, so only real entries reach the kernel. */
export function withoutMarker(plan: Plan): Plan {
  return { add: plan.add, remove: plan.remove.filter((e) => !isRepairMarker(e)) };
}
