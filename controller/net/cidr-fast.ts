/**
 * The fast half of the address parser (./cidr.ts is the only caller). `ipset save`, `nft -j`,
 * `ip -j route` and a 100k-entry ledger hand over up to 100k+ addresses per run, and the
 * general path (ipaddr.js) costs ~8 µs per IPv4 and ~70 µs per IPv6 address, seconds per run
 * at that size. These scanners read plain dotted quads and plain lower-case hex IPv6 directly
 * and return undefined for anything unusual (embedded IPv4, IPv4-mapped, upper case, host
 * bits set, odd prefixes): the general path then decides and explains. What they return is
 * always exactly what the general path returns (test/controller/net/cidr-fast.test.ts).
 */

/** A plain dotted quad (optionally /prefix) read by hand. */
export interface V4Scan {
  /** canonical text: the input itself, less a `/32` suffix */
  key: string;
  prefix: number;
  /** the address as an unsigned 32-bit number */
  value: number;
}

/**
 * A hand-written scan: at 100k entries per observe, a regex and four Number() calls per
 * address were the largest cost left.
 */
export function scanV4(text: string): V4Scan | undefined {
  let value = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = digits === 0 ? c - 48 : octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      dots++;
      digits = 0;
    } else break;
  }
  if (dots !== 3 || digits === 0) return undefined;
  value = value * 256 + octet;
  if (i === text.length) return { key: text, prefix: 32, value };
  if (text.charCodeAt(i) !== 47) return undefined; // '/'
  const p = text.slice(i + 1);
  if (!/^[1-9]\d?$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > 32 || value % 2 ** (32 - prefix) !== 0) return undefined;
  return { key: prefix === 32 ? text.slice(0, i) : text, prefix, value };
}

/** Plain lower-case hex IPv6 (optionally /prefix), canonicalised. */
export interface V6Scan {
  key: string;
  prefix: number;
  addr: bigint;
}

const V6_RE = /^[0-9a-f:]+(?:\/\d{1,3})?$/;
const PREFIX_RE = /^(0|[1-9]\d{0,2})$/;

export function scanV6(text: string): V6Scan | undefined {
  if (!V6_RE.test(text)) return undefined;
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX_RE.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  if (prefix < 1 || prefix > 128) return undefined;
  const groups = hextets(addrText);
  if (!groups) return undefined;
  // ::ffff:a.b.c.d/96+ is IPv4 to fail2git; rare in kernel output, so the general path decides
  if (groups[5] === 0xffff && groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) return undefined;
  let addr = 0n;
  for (const g of groups) addr = (addr << 16n) | BigInt(g);
  if ((addr & ((1n << BigInt(128 - prefix)) - 1n)) !== 0n) return undefined;
  const canonical = formatV6Groups(groups);
  return { key: prefix === 128 ? canonical : `${canonical}/${prefix}`, prefix, addr };
}

function hextets(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const p of s.split(':')) {
      if (p.length < 1 || p.length > 4) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** RFC 5952 text of eight 16-bit groups: lower-case hex, the longest run (≥ 2) of zero groups as `::`, first on a tie. */
export function formatV6Groups(groups: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt === -1) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
