/**
 * The removal guard between a plan and a firewall (DESIGN rule 4), pure: it refuses a plan
 * that removes too much from one target in one run (a truncated or emptied ledger must not
 * unban the world) unless forced. Protected addresses: controller/desired/protected-ranges.ts.
 */
import type { Plan } from '../targets/types.js';

/** A percentage limit only applies once a target holds this many entries. */
export const PERCENT_LIMIT_MIN_HELD = 20;

export interface RemovalLimit {
  /** the most removals allowed, or undefined for no limit */
  max: number | undefined;
  /** the policy text, for messages */
  text: string;
}

/**
 * `maxRemovePerRun` → a count for a target holding `held` entries.
 * `50%` → half of held (only when held ≥ 20); a number → that absolute count.
 */
export function removalLimit(maxRemovePerRun: string | number, held: number): RemovalLimit {
  if (typeof maxRemovePerRun === 'number') return { max: maxRemovePerRun, text: String(maxRemovePerRun) };
  const text = maxRemovePerRun.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    if (held < PERCENT_LIMIT_MIN_HELD) return { max: undefined, text };
    return { max: Math.floor((held * Number(pct[1])) / 100), text };
  }
  if (/^\d+$/.test(text)) return { max: Number(text), text };
  // The schema rejects anything else; fall back to the default rather than no limit.
  return removalLimit('50%', held);
}

export type GuardVerdict =
  | { ok: true; plan: Plan }
  /** removals held back; adds still go ahead (more bans is never the dangerous direction) */
  | { ok: false; plan: Plan; held: Plan['remove']; message: string };

/**
 * The strictest of several limits for a target holding `held` entries: the smallest count
 * (several apply while a commit changing the limit is not yet enforced: plan/guard-limits.ts).
 */
export function strictestLimit(limits: string | number | readonly (string | number)[], held: number): RemovalLimit {
  const all = (Array.isArray(limits) ? limits : [limits]) as readonly (string | number)[];
  let best: RemovalLimit = { max: undefined, text: all.map(String).join(', ') };
  for (const l of all) {
    const r = removalLimit(l, held);
    if (r.max !== undefined && (best.max === undefined || r.max < best.max)) best = r;
  }
  return best;
}

/** Refuses the removals of a plan that removes more than the policy allows, unless forced. */
export function guardRemovals(plan: Plan, held: number, maxRemovePerRun: string | number | readonly (string | number)[], force: boolean): GuardVerdict {
  const limit = strictestLimit(maxRemovePerRun, held);
  if (force || limit.max === undefined || plan.remove.length <= limit.max) return { ok: true, plan };
  return {
    ok: false,
    plan: { add: plan.add, remove: [] },
    held: plan.remove,
    message:
      `refusing to remove ${plan.remove.length} of ${held} entries in one run ` +
      `(policy maxRemovePerRun ${limit.text} allows ${limit.max}); check the ledger, then run with --force`,
  };
}
