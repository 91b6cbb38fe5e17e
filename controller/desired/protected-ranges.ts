/**
 * Which bans overlap a protected address (this host's, the remote's, API endpoints'): pure.
 * The addresses are gathered by ./protected.ts; the reconciler drops overlapping bans.
 */
import { tryParseCidr, cidrContains, widen, prefixOfKey, CidrError, FAMILY_BITS, type Cidr } from '../net/cidr.js';

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
  const nets = protectedAddrs.filter((p) => p.prefix < FAMILY_BITS[p.family]);
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
