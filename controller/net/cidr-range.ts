/**
 * Address ranges back to CIDRs. nftables prints an interval that is not a single prefix
 * (someone added `10.0.0.1-10.0.0.5` by hand) as a range; fail2git speaks only CIDRs.
 */
import { InputError } from '../lib/errors.js';
import { FAMILY_BITS as BITS, formatCidr, parseCidr, type Cidr, type Family } from './cidr.js';

/** The fewest CIDRs that exactly cover [first, last] (inclusive, same family). */
export function rangeToCidrs(firstText: string, lastText: string): Cidr[] {
  const first = parseCidr(firstText);
  const last = parseCidr(lastText);
  if (first.family !== last.family || first.addr > last.addr) {
    throw new InputError('E_CIDR_RANGE', `invalid address range ${firstText}-${lastText}`);
  }
  const family = first.family;
  const out: Cidr[] = [];
  let lo = first.addr;
  while (lo <= last.addr) {
    // widest block aligned at lo that does not run past last
    let size = BITS[family];
    while (size > 0) {
      const block = 1n << BigInt(BITS[family] - size + 1);
      if ((lo & (block - 1n)) !== 0n || lo + block - 1n > last.addr) break;
      size--;
    }
    out.push(parseCidr(formatCidr(family, lo, size)));
    lo += 1n << BigInt(BITS[family] - size);
  }
  return out;
}

/** The netmask of a prefix as an address (`255.255.255.0` for /24). */
export function prefixMask(family: Family, prefix: number): string {
  const bits = BigInt(BITS[family]);
  const mask = ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
  return formatCidr(family, mask, BITS[family]);
}

/** The prefix length of a contiguous netmask address, or undefined if it is not one. */
export function maskPrefix(family: Family, maskText: string): number | undefined {
  const m = parseCidr(maskText);
  if (m.family !== family) return undefined;
  const bits = BITS[family];
  const ones = m.addr.toString(2).replace(/0+$/, '');
  // contiguous ones from the top: the binary text is all ones and starts at the top bit
  if (m.addr === 0n) return 0;
  if (!/^1+$/.test(ones) || m.addr.toString(2).length !== bits) return undefined;
  return ones.length;
}

/**
 * Splits CIDRs into the outermost ones and those covered by another (CIDRs either nest or
 * are disjoint, so one sweep in address order finds every cover).
 */
export function splitCovered(cidrs: readonly Cidr[]): { outer: Cidr[]; covered: Cidr[] } {
  const sorted = [...cidrs].sort((a, b) => (a.family - b.family) || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.prefix - b.prefix));
  const outer: Cidr[] = [];
  const covered: Cidr[] = [];
  let last: Cidr | undefined;
  for (const c of sorted) {
    if (last && last.family === c.family && contains(last, c)) {
      if (last.key !== c.key) covered.push(c);
      continue;
    }
    outer.push(c);
    last = c;
  }
  return { outer, covered };
}

function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.prefix > inner.prefix) return false;
  const shift = BigInt(BITS[outer.family] - outer.prefix);
  return inner.addr >> shift === outer.addr >> shift;
}
