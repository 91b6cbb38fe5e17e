/**
 * Which bans a bulk unban lifts (`fail2git unban --jail/--by/--reason/--from-file`). Every
 * criterion given must match; at least one is required, so an unban never selects everything
 * by accident. Pure.
 */
import type { BanEntry } from './types.js';

export interface BanFilter {
  /** exact jail name */
  jail?: string | undefined;
  /** exact `by` (a host or a person) */
  by?: string | undefined;
  /** case-insensitive substring of the reason */
  reason?: string | undefined;
  /** exact canonical CIDR keys */
  cidrs?: ReadonlySet<string> | undefined;
}

export function filterGiven(f: BanFilter): boolean {
  return f.jail !== undefined || f.by !== undefined || f.reason !== undefined || f.cidrs !== undefined;
}

export function selectBans(bans: readonly BanEntry[], f: BanFilter): BanEntry[] {
  if (!filterGiven(f)) return [];
  const reason = f.reason?.toLowerCase();
  return bans.filter((b) =>
    (f.jail === undefined || b.jail === f.jail) &&
    (f.by === undefined || b.by === f.by) &&
    (reason === undefined || (b.reason ?? '').toLowerCase().includes(reason)) &&
    (f.cidrs === undefined || f.cidrs.has(b.cidr)));
}
