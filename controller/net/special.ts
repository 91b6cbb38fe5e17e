/**
 * Addresses no ban may cover: unspecified, broadcast, multicast and loopback. Banning one
 * blocks nothing an attacker sends (a source address is never multicast or broadcast) or
 * cuts a host off from itself (`127.0.0.1`, `::1`, and `::` widened to `::/64`). Pure.
 */
import { cidrOverlaps, parseCidr, type Cidr } from './cidr.js';

const SPECIAL: readonly { net: Cidr; what: string }[] = [
  ['0.0.0.0/8', 'unspecified ("this network")'],
  ['255.255.255.255', 'the broadcast address'],
  ['224.0.0.0/4', 'multicast'],
  ['127.0.0.0/8', 'loopback'],
  ['::', 'the unspecified address'],
  ['::1', 'loopback'],
  ['ff00::/8', 'multicast'],
].map(([text, what]) => ({ net: parseCidr(text!), what: what! }));

/** Why a ban of `cidr` would cover a special address (`127.0.0.0/8 (loopback)`), or null. */
export function specialAddress(cidr: Cidr): string | null {
  const hit = SPECIAL.find((s) => cidrOverlaps(s.net, cidr));
  return hit ? `${cidr.key} covers ${hit.net.key} (${hit.what}), which is never banned` : null;
}
