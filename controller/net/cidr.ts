/**
 * The address parser: the only code in fail2git that reads an IP address or CIDR (the
 * hook, the ledger, kernel listings, Proxmox and the CLI all come here; a test in
 * test/architecture/ keeps it so). Every address is reduced to exactly one string:
 * IPv4 dotted quad, IPv6 RFC 5952 (lower-case, compressed), host bits zero, and no
 * `/32` or `/128` suffix. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4.
 * Two spellings of one network therefore always compare equal as strings.
 *
 * Plain spellings take the scanners of ./cidr-fast.ts; anything else, and every error,
 * takes the general path below (ipaddr.js). Both give the same results, errors included.
 */
import ipaddr from 'ipaddr.js';
import { formatV6Groups, scanV4, scanV6 } from './cidr-fast.js';
import type { ErrorCode } from '../lib/errors.js';

/** The plain-IPv4 scanner, for callers that compare 32-bit numbers without building a Cidr. */
export { scanV4, type V4Scan } from './cidr-fast.js';

export type Family = 4 | 6;

export interface Cidr {
  /** canonical text, e.g. `203.0.113.0/24`, `198.51.100.7`, `2001:db8::/48` */
  readonly key: string;
  readonly family: Family;
  readonly prefix: number;
  /** network address as an integer (for ordering and containment) */
  readonly addr: bigint;
}

/** The address codes of ERROR_CODES (controller/lib/errors.ts). */
export type CidrErrorCode = Extract<ErrorCode, 'E_CIDR_SYNTAX' | 'E_CIDR_PREFIX' | 'E_CIDR_HOST_BITS' | 'E_CIDR_ZERO'>;

export class CidrError extends Error {
  readonly code: CidrErrorCode;
  /** for E_CIDR_HOST_BITS: the network the input probably meant */
  readonly suggestion?: string;
  constructor(code: CidrErrorCode, message: string, suggestion?: string) {
    super(message);
    this.name = 'CidrError';
    this.code = code;
    if (suggestion !== undefined) this.suggestion = suggestion;
  }
}

/** Address length in bits per family. */
export const FAMILY_BITS: Readonly<Record<Family, number>> = { 4: 32, 6: 128 };
const BITS = FAMILY_BITS;
const PREFIX_RE = /^(0|[1-9][0-9]{0,2})$/;
const V6_CHARS = /^[0-9A-Fa-f:.]+$/;

function bytesToBigint(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

// Per family and prefix length, built once: containment checks run ~10 per ban at 100k
// bans, and building the masks there allocated millions of BigInts per run.
const HOST_MASKS: Readonly<Record<Family, readonly bigint[]>> = {
  4: Array.from({ length: 33 }, (_, p) => (1n << BigInt(32 - p)) - 1n),
  6: Array.from({ length: 129 }, (_, p) => (1n << BigInt(128 - p)) - 1n),
};
const NET_MASKS: Readonly<Record<Family, readonly bigint[]>> = { 4: HOST_MASKS[4].map((m) => ~m), 6: HOST_MASKS[6].map((m) => ~m) };

function hostMask(family: Family, prefix: number): bigint {
  return HOST_MASKS[family][prefix] ?? (1n << BigInt(BITS[family] - prefix)) - 1n;
}

function netMask(family: Family, prefix: number): bigint {
  return NET_MASKS[family][prefix] ?? ~hostMask(family, prefix);
}

function v4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 255n)).join('.');
}

function v6Text(n: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return formatV6Groups(parts);
}

/** Text of a network from family, integer and prefix (no `/32` or `/128`). */
export function formatCidr(family: Family, addr: bigint, prefix: number): string {
  const text = family === 4 ? v4Text(addr) : v6Text(addr);
  return prefix === BITS[family] ? text : `${text}/${prefix}`;
}

function parseAddress(text: string): { family: Family; addr: bigint } {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return { family: 4, addr: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  }
  // Zone ids (`%eth0`) and anything but hex digits, colons and dots are refused up front;
  // ipaddr.js would accept a zone id, which has no meaning in a ban.
  if (text.includes(':') && V6_CHARS.test(text) && ipaddr.IPv6.isValid(text)) {
    const v6 = ipaddr.IPv6.parse(text);
    return { family: 6, addr: bytesToBigint(v6.toByteArray()) };
  }
  throw new CidrError('E_CIDR_SYNTAX', `${JSON.stringify(text)} is not an IP address or CIDR`);
}

/**
 * Parses an address or CIDR into its canonical form, or throws CidrError.
 * Host bits must be zero (`10.0.0.1/24` is refused, with `10.0.0.0/24` suggested):
 * silently masking would ban a whole network when a person meant one host.
 */
export function parseCidr(input: string): Cidr {
  if (input.includes(':')) {
    const s = scanV6(input);
    if (s) return { key: s.key, family: 6, prefix: s.prefix, addr: s.addr };
  } else {
    const s = scanV4(input);
    if (s) return { key: s.key, family: 4, prefix: s.prefix, addr: BigInt(s.value) };
  }
  return parseCidrGeneral(input);
}

export interface CidrKey {
  key: string;
  family: Family;
}

/**
 * Just the canonical key and family (what a driver's observe() reports), without building
 * the integer form for plain IPv4: the hot path of 100k-entry listings. Same errors as parseCidr.
 */
export function cidrKey(input: string): CidrKey {
  if (!input.includes(':')) {
    const s = scanV4(input);
    if (s) return { key: s.key, family: 4 };
  }
  const c = parseCidr(input);
  return { key: c.key, family: c.family };
}

/**
 * The general path alone (ipaddr.js), for every spelling. parseCidr is the one to call;
 * this is exported as the reference the scanners are tested against.
 */
export function parseCidrGeneral(input: string): Cidr {
  const text = input.trim();
  if (text === '' || text !== input) {
    throw new CidrError('E_CIDR_SYNTAX', `${JSON.stringify(input)} is not an IP address or CIDR`);
  }
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  let { family, addr } = parseAddress(addrText);
  let prefix = BITS[family];
  if (prefixText !== undefined) {
    if (!PREFIX_RE.test(prefixText) || Number(prefixText) > BITS[family]) {
      throw new CidrError('E_CIDR_PREFIX', `${JSON.stringify(input)} has an invalid prefix length (IPv${family}: 0-${BITS[family]})`);
    }
    prefix = Number(prefixText);
  }
  // ::ffff:a.b.c.d/N with N >= 96 is the IPv4 network a.b.c.d/(N-96).
  if (family === 6 && addr >> 32n === 0xffffn && prefix >= 96) {
    family = 4;
    addr &= 0xffffffffn;
    prefix -= 96;
  }
  if (prefix === 0) {
    throw new CidrError('E_CIDR_ZERO', `${JSON.stringify(input)} is a zero-length prefix (everything); never allowed`);
  }
  const host = addr & hostMask(family, prefix);
  if (host !== 0n) {
    const net = formatCidr(family, addr & ~hostMask(family, prefix), prefix);
    throw new CidrError('E_CIDR_HOST_BITS', `${JSON.stringify(input)} has host bits set (did you mean ${net}?)`, net);
  }
  return { key: formatCidr(family, addr, prefix), family, prefix, addr };
}

export function tryParseCidr(input: string): Cidr | CidrError {
  try {
    return parseCidr(input);
  } catch (err) {
    if (err instanceof CidrError) return err;
    throw err;
  }
}

// Inputs repeat across a run (ledger, allowlist, desired set), so the general path's results are cached.
const cache = new Map<string, Cidr | CidrError>();

/** tryParseCidr for text that repeats: plain spellings are scanned, the rest remembered. */
export function parseCidrCached(text: string): Cidr | CidrError {
  if (text.includes(':')) {
    const s = scanV6(text);
    if (s) return { key: s.key, family: 6, prefix: s.prefix, addr: s.addr };
  } else {
    const s = scanV4(text);
    if (s) return { key: s.key, family: 4, prefix: s.prefix, addr: BigInt(s.value) }; // cheaper than a lookup, keeps the cache small
  }
  let c = cache.get(text);
  if (c === undefined) {
    if (cache.size > 200_000) cache.clear();
    c = tryParseCidr(text);
    cache.set(text, c);
  }
  return c;
}

/**
 * The network a token names, host bits masked (`127.0.0.1/8` → `127.0.0.0/8`), or undefined
 * when it is no address. For what other software wrote (Proxmox files, interface addresses),
 * never for the ledger or a person's input, where host bits are an error.
 */
export function networkOf(token: string): Cidr | undefined {
  const c = tryParseCidr(token);
  if (!(c instanceof CidrError)) return c;
  return c.code === 'E_CIDR_HOST_BITS' && c.suggestion ? parseCidr(c.suggestion) : undefined;
}

/**
 * Family and prefix length of a canonical key, read from its text (no parse): for keys
 * already checked, e.g. a valid ledger's.
 */
export function prefixOfKey(key: string): { family: Family; prefix: number } {
  const family = familyOf(key);
  const slash = key.indexOf('/');
  return { family, prefix: slash < 0 ? BITS[family] : Number(key.slice(slash + 1)) };
}

/** Whether text is one IP address (no prefix): a literal to use as it is, not a name to resolve. */
export function isAddressLiteral(text: string): boolean {
  return !text.includes('/') && !(tryParseCidr(text) instanceof CidrError);
}

/** Canonical key of an input, or throws CidrError. */
export function canonicalCidr(input: string): string {
  return parseCidr(input).key;
}

/** The network an address belongs to at a given prefix (e.g. an IPv6 host widened to its /64). */
export function widen(cidr: Cidr, prefix: number): Cidr {
  if (prefix >= cidr.prefix) return cidr;
  const addr = cidr.addr & netMask(cidr.family, prefix);
  return { key: formatCidr(cidr.family, addr, prefix), family: cidr.family, prefix, addr };
}

/** Order: IPv4 before IPv6, then by network address, then broader first. */
export function compareCidr(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.prefix - b.prefix;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  return (inner.addr & netMask(outer.family, outer.prefix)) === outer.addr;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function familyOf(key: string): Family {
  return key.includes(':') ? 6 : 4;
}
