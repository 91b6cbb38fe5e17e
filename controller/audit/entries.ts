/**
 * Ban entries as they appear on one line of `bans/active.yaml` (canonical layout: one flow
 * map per line), and how an entry relates to the address being audited. Pure.
 */
import { cidrContains, scanV4, tryParseCidr, CidrError, type Cidr } from '../net/cidr.js';
import type { BanEntry } from '../ledger/types.js';
import { parseEntryLine } from '../ledger/banlist-lines.js';

/** How a ban's CIDR relates to the audited address or range. */
export type Relation = 'exact' | 'covered-by' | 'within';

// Cheap pre-filter: only lines that carry a cidr are worth a YAML parse.
const CIDR_FIELD = /cidr:\s*["']?([0-9A-Fa-f:.]+(?:\/\d+)?)["']?/;

export function relationOf(query: Cidr, cidr: Cidr): Relation | null {
  if (query.family !== cidr.family) return null;
  if (query.prefix === cidr.prefix && query.addr === cidr.addr) return 'exact';
  if (cidrContains(cidr, query)) return 'covered-by';
  if (cidrContains(query, cidr)) return 'within';
  return null;
}

/**
 * Whether canonical IPv4 text can relate to an IPv4 query, in plain 32-bit arithmetic
 * (no parse, no BigInt): a long history names thousands of unrelated addresses. Returns
 * undefined when the text is not plain canonical IPv4, and the caller parses it properly.
 */
export function mayRelateV4(query: Cidr, text: string): boolean | undefined {
  if (query.family !== 4) return undefined;
  const s = scanV4(text);
  if (!s) return undefined;
  const { value: addr, prefix } = s;
  const shorter = Math.min(prefix, query.prefix);
  const shift = 32 - shorter;
  // Compare the common leading bits (division avoids JS's 32-bit signed shifts).
  return Math.floor(addr / 2 ** shift) === Math.floor(Number(query.addr) / 2 ** shift);
}

/** Caches CIDR parsing: a long history names the same few thousand CIDRs over and over. */
export class CidrCache {
  private readonly seen = new Map<string, Cidr | null>();
  /** The CIDR when it relates to `query`, else null; skips parsing clearly unrelated IPv4. */
  related(text: string, query: Cidr): { cidr: Cidr; relation: Relation } | null {
    if (mayRelateV4(query, text) === false) return null;
    const cidr = this.get(text);
    const relation = cidr ? relationOf(query, cidr) : null;
    return cidr && relation ? { cidr, relation } : null;
  }
  get(text: string): Cidr | null {
    let c = this.seen.get(text);
    if (c === undefined) {
      const parsed = tryParseCidr(text);
      c = parsed instanceof CidrError ? null : parsed;
      this.seen.set(text, c);
    }
    return c;
  }
}

/**
 * Entries on `lines` whose CIDR relates to the query, with the relation. Lines are
 * pre-filtered by a regex so a 100k-line file costs one pass and few entry parses.
 */
export function matchingEntries(
  lines: Iterable<string>,
  query: Cidr,
  cache: CidrCache,
): { entry: BanEntry; cidr: Cidr; relation: Relation }[] {
  const found: { entry: BanEntry; cidr: Cidr; relation: Relation }[] = [];
  for (const line of lines) {
    const m = CIDR_FIELD.exec(line);
    if (!m) continue;
    const hit = cache.related(m[1]!, query);
    if (!hit) continue;
    const { cidr, relation } = hit;
    const entry = parseEntryLine(line);
    if (entry) found.push({ entry: { ...entry, cidr: cidr.key }, cidr, relation });
  }
  return found;
}
