/**
 * A guard cannot be loosened by the commit it guards (DESIGN "Who decides what"). Every
 * limit the guard applies — maxRemovePerRun, broadestPrefix, banPrefix, the allowlist — is
 * the stricter of the commit already enforced and the commit being enforced, so a loosening
 * takes effect only once a commit carrying it has been enforced. Pure.
 */
import type { AllowEntry, Ledger, PolicySpec, PrefixLimits } from '../ledger/types.js';

/** The limits one commit sets: what the guard needs of it, and no more. */
export interface GuardLimits {
  rev: string;
  maxRemovePerRun: string | number;
  broadestPrefix: PrefixLimits;
  banPrefix: PrefixLimits;
  /** allowlisted networks, as written */
  allow: string[];
}

/** The limits in force for one run, and what the newer commit loosened that is not yet in force. */
export interface EffectiveLimits {
  /** every removal limit that applies; the smallest count for a target wins (removal-guard.ts) */
  maxRemovePerRun: (string | number)[];
  broadestPrefix: PrefixLimits;
  banPrefix: PrefixLimits;
  allow: string[];
  /** one line per loosening held back, naming the value that still applies */
  kept: string[];
}

export function limitsOf(rev: string, ledger: Pick<Ledger, 'policy' | 'allow'>): GuardLimits {
  const p = ledger.policy;
  return {
    rev, maxRemovePerRun: p.maxRemovePerRun, broadestPrefix: { ...p.broadestPrefix }, banPrefix: { ...p.banPrefix },
    allow: ledger.allow.map((a) => a.cidr),
  };
}

/** The limits of `next` alone (nothing enforced before it, or --force). */
export function ownLimits(next: GuardLimits): EffectiveLimits {
  return { maxRemovePerRun: [next.maxRemovePerRun], broadestPrefix: next.broadestPrefix, banPrefix: next.banPrefix, allow: next.allow, kept: [] };
}

/**
 * The stricter of the enforced commit's limits and the next commit's: the narrower
 * prefix bounds (a larger prefix length), both removal limits (the smaller count wins
 * per target), and the union of both allowlists.
 */
export function stricterLimits(enforced: GuardLimits | undefined, next: GuardLimits): EffectiveLimits {
  if (!enforced || enforced.rev === next.rev) return ownLimits(next);
  const short = enforced.rev.slice(0, 12);
  const kept: string[] = [];
  const prefixes = (what: 'broadestPrefix' | 'banPrefix'): PrefixLimits => {
    const out = { ipv4: Math.max(enforced[what].ipv4, next[what].ipv4), ipv6: Math.max(enforced[what].ipv6, next[what].ipv6) };
    for (const f of ['ipv4', 'ipv6'] as const) {
      if (next[what][f] < out[f]) kept.push(`${what}.${f} /${next[what][f]} is not in force yet: /${out[f]} of ${short} applies`);
    }
    return out;
  };
  const broadestPrefix = prefixes('broadestPrefix');
  const banPrefix = prefixes('banPrefix');
  const maxRemovePerRun = [next.maxRemovePerRun];
  if (String(enforced.maxRemovePerRun).trim() !== String(next.maxRemovePerRun).trim()) {
    maxRemovePerRun.push(enforced.maxRemovePerRun);
    if (mayRemoveMore(next.maxRemovePerRun, enforced.maxRemovePerRun)) {
      kept.push(`maxRemovePerRun ${next.maxRemovePerRun} is not in force yet: ${enforced.maxRemovePerRun} of ${short} still limits removals`);
    }
  }
  const nextAllow = new Set(next.allow);
  const dropped = enforced.allow.filter((c) => !nextAllow.has(c));
  if (dropped.length > 0) {
    kept.push(`${dropped.length} allowlist entr${dropped.length === 1 ? 'y' : 'ies'} removed since ${short} still appl${dropped.length === 1 ? 'ies' : 'y'} (${dropped.slice(0, 3).join(', ')}${dropped.length > 3 ? ', …' : ''})`);
  }
  return { maxRemovePerRun, broadestPrefix, banPrefix, allow: [...next.allow, ...dropped], kept };
}

/** Whether limit `a` can allow more removals than `b` for some target size. */
function mayRemoveMore(a: string | number, b: string | number): boolean {
  const pa = percent(a);
  const pb = percent(b);
  if (pa !== undefined && pb !== undefined) return pa > pb;
  if (pa === undefined && pb === undefined) return Number(a) > Number(b);
  // A percentage and a count: which is larger depends on the target's size.
  return true;
}

function percent(v: string | number): number | undefined {
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)%\s*$/.exec(v) : null;
  return m ? Number(m[1]) : undefined;
}

/** The ledger as the desired set must see it under `limits`: the stricter allowlist and prefix bounds. */
export function underLimits(ledger: Ledger, limits: EffectiveLimits): Ledger {
  const policy: PolicySpec = { ...ledger.policy, broadestPrefix: limits.broadestPrefix, banPrefix: limits.banPrefix };
  const known = new Set(ledger.allow.map((a) => a.cidr));
  const allow: AllowEntry[] = [...ledger.allow, ...limits.allow.filter((c) => !known.has(c)).map((cidr) => ({ cidr }))];
  return { ...ledger, policy, allow };
}
