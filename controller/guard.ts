/**
 * Guardrails between a plan and a firewall (DESIGN rule 4). Pure functions:
 * - the removal guard refuses a plan that removes too much from one target in one run
 *   (a truncated or emptied ledger must not unban the world) unless forced;
 * - the protected filter drops desired entries that cover an address this host must
 *   keep reaching (itself, the git remote, API endpoints), whatever the ledger says.
 */
import { tryParseCidr, cidrContains, cidrOverlaps, widen, CidrError, type Cidr } from './cidr.js';
import type { DesiredEntry, Plan } from './targets/types.js';

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

/** Refuses the removals of a plan that removes more than the policy allows, unless forced. */
export function guardRemovals(plan: Plan, held: number, maxRemovePerRun: string | number, force: boolean): GuardVerdict {
  const limit = removalLimit(maxRemovePerRun, held);
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

export interface ProtectedSkip {
  cidr: string;
  reason: 'protected';
  detail: string;
}

/** Parses protected addresses, ignoring what is not an address (link-local zone ids etc.). */
export function parseProtected(addresses: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  const seen = new Set<string>();
  for (const a of addresses) {
    const c = tryParseCidr(a);
    if (c instanceof CidrError || seen.has(c.key)) continue;
    seen.add(c.key);
    out.push(c);
  }
  return out;
}

/** Drops every desired entry that overlaps a protected address or network. */
export function filterProtected(
  entries: readonly DesiredEntry[],
  protectedAddrs: readonly Cidr[],
): { kept: DesiredEntry[]; skipped: ProtectedSkip[] } {
  if (protectedAddrs.length === 0) return { kept: [...entries], skipped: [] };
  const kept: DesiredEntry[] = [];
  const skipped: ProtectedSkip[] = [];
  for (const e of entries) {
    const c = tryParseCidr(e.cidr);
    const hit = c instanceof CidrError ? undefined : protectedAddrs.find((p) => cidrOverlaps(p, c));
    if (hit) skipped.push({ cidr: e.cidr, reason: 'protected', detail: `covers protected ${hit.key}` });
    else kept.push(e);
  }
  return { kept, skipped };
}

const FULL: Record<4 | 6, number> = { 4: 32, 6: 128 };

function prefixOfKey(key: string): { family: 4 | 6; prefix: number } {
  const family = key.includes(':') ? 6 : 4;
  const slash = key.indexOf('/');
  return { family, prefix: slash < 0 ? FULL[family] : Number(key.slice(slash + 1)) };
}

/**
 * filterProtected for a whole ledger, in linear time: a ban of length L overlaps a
 * protected address p when p widened to /L is the ban itself, so one set of widened keys
 * (per distinct ban length) answers for every ban by string lookup. Only bans narrower
 * than a protected *network* need parsing. Bans must be canonical keys (a valid ledger).
 */
export function partitionProtected<T extends { cidr: string }>(
  bans: readonly T[],
  protectedAddrs: readonly Cidr[],
): { kept: T[]; skipped: ProtectedSkip[] } {
  if (protectedAddrs.length === 0) return { kept: [...bans], skipped: [] };
  const lengths: Record<4 | 6, Set<number>> = { 4: new Set(), 6: new Set() };
  for (const b of bans) {
    const { family, prefix } = prefixOfKey(b.cidr);
    lengths[family].add(prefix);
  }
  const widened = new Map<string, string>();
  for (const p of protectedAddrs) {
    for (const len of lengths[p.family]) if (len <= p.prefix) widened.set(widen(p, len).key, p.key);
  }
  const nets = protectedAddrs.filter((p) => p.prefix < FULL[p.family]);
  const kept: T[] = [];
  const skipped: ProtectedSkip[] = [];
  for (const b of bans) {
    let hit = widened.get(b.cidr);
    if (hit === undefined && nets.length > 0) {
      const { family, prefix } = prefixOfKey(b.cidr);
      const inside = nets.filter((n) => n.family === family && n.prefix < prefix);
      const c = inside.length > 0 ? tryParseCidr(b.cidr) : undefined;
      if (c && !(c instanceof CidrError)) hit = inside.find((n) => cidrContains(n, c))?.key;
    }
    if (hit === undefined) kept.push(b);
    else skipped.push({ cidr: b.cidr, reason: 'protected', detail: `covers protected ${hit}` });
  }
  return { kept, skipped };
}
