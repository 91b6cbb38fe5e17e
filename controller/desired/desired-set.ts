/**
 * The desired set: what the ledger wants enforced at a moment. Pure: the clock is a
 * parameter, so TTL expiry is tested with any `now` and every host computes the same
 * set from the same commit.
 */
import { compareCidr, cidrContains, cidrOverlaps, parseCidrCached, type Cidr } from '../net/cidr.js';
import { isTooBroad } from '../ledger/cross-checks.js';
import { fastCanonicalTime } from '../ledger/checks.js';
import type { Ledger } from '../ledger/types.js';
import type { DesiredEntry } from '../targets/types.js';

export interface Skipped {
  cidr: string;
  reason: 'expired' | 'allowlisted' | 'too-broad' | 'protected';
  detail?: string;
}

export interface DesiredSet {
  /** sorted by address, IPv4 before IPv6 */
  entries: DesiredEntry[];
  skipped: Skipped[];
  /** the earliest expiry after `now` among enforced entries: when the set changes next */
  nextExpiry?: Date;
}

function parseAll(keys: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const k of keys) {
    const c = parseCidrCached(k);
    if (!(c instanceof Error)) out.push(c);
  }
  return out;
}

function overlapDetail(ban: Cidr, other: Cidr, what: string): string {
  // A ban broader than an allow entry is skipped whole: enforcing it minus a hole would
  // need set arithmetic no target can express reliably, and skipping is the safe side.
  return cidrContains(ban, other) && ban.prefix < other.prefix
    ? `contains ${what} ${other.key}; the whole ban is skipped`
    : `inside ${what} ${other.key}`;
}

function skipReason(ban: Cidr, ledger: Ledger, allow: readonly Cidr[], protect: readonly Cidr[]): Omit<Skipped, 'cidr'> | undefined {
  const a = allow.length === 0 ? undefined : allow.find((x) => cidrOverlaps(ban, x));
  if (a) return { reason: 'allowlisted', detail: overlapDetail(ban, a, 'allowlisted') };
  if (isTooBroad(ban, ledger.policy)) {
    const limit = ban.family === 4 ? ledger.policy.broadestPrefix.ipv4 : ledger.policy.broadestPrefix.ipv6;
    return { reason: 'too-broad', detail: `broader than the policy's /${limit}` };
  }
  const p = protect.length === 0 ? undefined : protect.find((x) => cidrOverlaps(ban, x));
  if (p) return { reason: 'protected', detail: overlapDetail(ban, p, 'protected') };
  return undefined;
}

/**
 * Entries live at `now` (no expiry, or expiry after now), minus allowlisted, too-broad
 * and protected ones. Bans whose CIDR does not parse (an invalid ledger) are left out.
 */
export function desiredSet(ledger: Ledger, now: Date, protectedCidrs: readonly string[] = []): DesiredSet {
  const allow = parseAll(ledger.allow.map((a) => a.cidr));
  const protect = parseAll(protectedCidrs);
  const nowMs = now.getTime();
  // Entries only, in ledger order, and whether that order is already the address order:
  // no parsed network is kept per entry (100k of them, with their integers, through the loop).
  const entries: DesiredEntry[] = [];
  let sorted = true;
  let prev: Cidr | undefined;
  const skipped: Skipped[] = [];
  let next = Infinity;
  for (const ban of ledger.bans) {
    const c = parseCidrCached(ban.cidr);
    if (c instanceof Error) continue;
    const expiresMs = ban.expires === undefined ? Infinity : (fastCanonicalTime(ban.expires) ?? Date.parse(ban.expires));
    if (!(expiresMs > nowMs)) {
      skipped.push({ cidr: c.key, reason: 'expired', detail: `expired ${ban.expires ?? ''}` });
      continue;
    }
    const why = skipReason(c, ledger, allow, protect);
    if (why) {
      skipped.push({ cidr: c.key, ...why });
      continue;
    }
    const e: DesiredEntry = { cidr: c.key, family: c.family };
    if (ban.expires !== undefined) e.expires = ban.expires;
    if (ban.by !== undefined) e.by = ban.by;
    if (ban.jail !== undefined) e.jail = ban.jail;
    if (ban.at !== undefined) e.at = ban.at;
    if (ban.count !== undefined) e.count = ban.count;
    entries.push(e);
    // A canonical ledger is already in address order; sorting is then one linear check.
    if (sorted && prev !== undefined && compareCidr(prev, c) > 0) sorted = false;
    prev = c;
    if (expiresMs < next) next = expiresMs;
  }
  const result: DesiredSet = { entries: sorted ? entries : sortedEntries(entries), skipped };
  if (next !== Infinity) result.nextExpiry = new Date(next);
  return result;
}

function sortedEntries(entries: readonly DesiredEntry[]): DesiredEntry[] {
  // every key parsed before (canonical, so parseCidrCached cannot fail here)
  const live = entries.map((e) => ({ c: parseCidrCached(e.cidr) as Cidr, e }));
  live.sort((x, y) => compareCidr(x.c, y.c));
  return live.map((l) => l.e);
}
