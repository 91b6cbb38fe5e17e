/**
 * Canonical CIDR keys. Every address in fail2git is reduced to exactly one string:
 * IPv4 dotted quad, IPv6 RFC 5952 (lower-case, compressed), host bits zero, and no
 * `/32` or `/128` suffix. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes IPv4.
 * Two spellings of one network therefore always compare equal as strings.
 */
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Cidr {
  /** canonical text, e.g. `203.0.113.0/24`, `198.51.100.7`, `2001:db8::/48` */
  readonly key: string;
  readonly family: Family;
  readonly prefix: number;
  /** network address as an integer (for ordering and containment) */
  readonly addr: bigint;
}

export type CidrErrorCode =
  | 'E_CIDR_SYNTAX'
  | 'E_CIDR_PREFIX'
  | 'E_CIDR_HOST_BITS'
  | 'E_CIDR_ZERO';

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

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const PREFIX_RE = /^(0|[1-9][0-9]{0,2})$/;
const V6_CHARS = /^[0-9A-Fa-f:.]+$/;

function bytesToBigint(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function hostMask(family: Family, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

function v4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 255n)).join('.');
}

function v6Text(n: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
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
 * Parses an address or CIDR into its canonical form.
 * Host bits must be zero (`10.0.0.1/24` is refused, with `10.0.0.0/24` suggested):
 * silently masking would ban a whole network when a person meant one host.
 */
export function parseCidr(input: string): Cidr {
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

/** Canonical key of an input, or throws CidrError. */
export function canonicalCidr(input: string): string {
  return parseCidr(input).key;
}

/** The network an address belongs to at a given prefix (e.g. an IPv6 host widened to its /64). */
export function widen(cidr: Cidr, prefix: number): Cidr {
  if (prefix >= cidr.prefix) return cidr;
  const addr = cidr.addr & ~hostMask(cidr.family, prefix);
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
  const mask = ~hostMask(outer.family, outer.prefix);
  return (inner.addr & mask) === outer.addr;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function familyOf(key: string): Family {
  return key.includes(':') ? 6 : 4;
}
