/**
 * Checks that need more than one file: a ban overlapping the allowlist, a ban broader
 * than the policy allows. These are warnings, not problems: the ledger stays usable
 * (desiredSet skips such bans), because one hook banning an allowlisted address must
 * not freeze enforcement of every other ban. `fail2git validate` still exits 1 on them.
 */
import { cidrOverlaps, parseCidrCached, type Cidr } from '../net/cidr.js';
import type { Ledger, Problem, SourcePos } from './types.js';

function parsed(key: string): Cidr | undefined {
  const c = parseCidrCached(key);
  return c instanceof Error ? undefined : c;
}

/** The first allow entry a ban overlaps, if any. */
export function overlappingAllow(ban: Cidr, allow: readonly Cidr[]): Cidr | undefined {
  return allow.find((a) => cidrOverlaps(ban, a));
}

export function isTooBroad(ban: Cidr, policy: Ledger['policy']): boolean {
  return ban.prefix < (ban.family === 4 ? policy.broadestPrefix.ipv4 : policy.broadestPrefix.ipv6);
}

export function crossFileWarnings(ledger: Ledger, locate: (k: number) => SourcePos): Problem[] {
  const allow = ledger.allow.map((a) => parsed(a.cidr)).filter((c): c is Cidr => c !== undefined);
  const warnings: Problem[] = [];
  ledger.bans.forEach((b, k) => {
    const ban = parsed(b.cidr);
    if (!ban) return;
    if (isTooBroad(ban, ledger.policy)) {
      const limit = ban.family === 4 ? `/${ledger.policy.broadestPrefix.ipv4}` : `/${ledger.policy.broadestPrefix.ipv6}`;
      warnings.push({ ...locate(k), code: 'E_TOO_BROAD', message: `${ban.key} is broader than the policy allows (IPv${ban.family} ${limit}); it is not enforced` });
    }
    const a = overlappingAllow(ban, allow);
    if (a) {
      const how = ban.prefix < a.prefix ? `contains allowlisted ${a.key}; the whole ban is not enforced` : `is allowlisted by ${a.key}; it is not enforced`;
      warnings.push({ ...locate(k), code: 'E_ALLOW_OVERLAP', message: `${ban.key} ${how}` });
    }
  });
  return warnings;
}
