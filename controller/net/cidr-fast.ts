/**
 * A fast path to the canonical Cidr for the text kernels print. `ipset save`, `nft -j` and
 * `ip -j route` print up to 100k+ addresses per observe, and the general parser (cidr.ts,
 * via ipaddr.js) costs ~8 µs per IPv4 and ~70 µs per IPv6 address, seconds per run at that
 * size. This parses plain dotted quads and plain hex IPv6 directly; anything unusual
 * (embedded IPv4, IPv4-mapped, odd spellings) goes to parseCidr, so results are always
 * identical to parseCidr's, including its errors.
 */
import { parseCidr, type Cidr, type Family } from './cidr.js';

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;
const OCTET_RE = /^(0|[1-9]\d{0,2})$/;
const PREFIX_RE = /^(0|[1-9]\d{0,2})$/;
const V6_RE = /^[0-9a-f:]+(?:\/\d{1,3})?$/;

export function fastCidr(text: string): Cidr {
  return (text.includes(':') ? fastV6(text) : fastV4(text)) ?? parseCidr(text);
}

export interface CidrKey {
  key: string;
  family: Family;
}

/**
 * Just the canonical key and family (what observe() reports), without building the integer
 * form: the hot path for 100k-entry listings. Same results and errors as parseCidr.
 */
export function fastKey(text: string): CidrKey {
  if (!text.includes(':')) {
    const key = v4Key(text);
    if (key !== undefined) return { key, family: 4 };
  }
  const c = fastCidr(text);
  return { key: c.key, family: c.family };
}

/**
 * The canonical key of a plain dotted quad (optionally /prefix), or undefined for anything
 * else (the caller then takes the general path). A hand-written scan: at 100k entries per
 * observe, a regex and four Number() calls per address were the largest cost left.
 */
function v4Key(text: string): string | undefined {
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
  if (i === text.length) return text;
  if (text.charCodeAt(i) !== 47) return undefined; // '/'
  const p = text.slice(i + 1);
  if (!/^[1-9]\d?$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > 32 || value % 2 ** (32 - prefix) !== 0) return undefined;
  return prefix === 32 ? text.slice(0, i) : text;
}

function fastV4(text: string): Cidr | undefined {
  const m = V4_RE.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = m[i]!;
    if (!OCTET_RE.test(o) || Number(o) > 255) return undefined;
    n = n * 256 + Number(o);
  }
  const p = m[5];
  if (p !== undefined && !PREFIX_RE.test(p)) return undefined;
  const prefix = p === undefined ? 32 : Number(p);
  if (prefix < 1 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (n % size !== 0) return undefined; // host bits set: let parseCidr explain
  const host = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
  return { key: prefix === 32 ? host : `${host}/${prefix}`, family: 4, prefix, addr: BigInt(n) };
}

function fastV6(text: string): Cidr | undefined {
  if (!V6_RE.test(text)) return undefined;
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX_RE.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  if (prefix < 1 || prefix > 128) return undefined;
  const groups = hextets(addrText);
  if (!groups) return undefined;
  // ::ffff:a.b.c.d/96+ is IPv4 to fail2git; rare in kernel output, so the slow path decides
  if (groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) return undefined;
  let addr = 0n;
  for (const g of groups) addr = (addr << 16n) | BigInt(g);
  const hostMask = (1n << BigInt(128 - prefix)) - 1n;
  if ((addr & hostMask) !== 0n) return undefined;
  const canonical = rfc5952(groups);
  return { key: prefix === 128 ? canonical : `${canonical}/${prefix}`, family: 6, prefix, addr };
}

function hextets(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':');
    const out: number[] = [];
    for (const p of parts) {
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

/** RFC 5952: lower-case, no leading zeros, the longest run (≥ 2) of zero groups as `::`, first on a tie. */
function rfc5952(groups: number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt === -1) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}
