/** The pairwise oracle for partitionProtected (test only): every ban against every protected address. */
import { CidrError, cidrOverlaps, tryParseCidr, type Cidr } from '../../controller/net/cidr.js';
import type { ProtectedSkip } from '../../controller/desired/protected-ranges.js';
import type { DesiredEntry } from '../../controller/targets/types.js';

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

