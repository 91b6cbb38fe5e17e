/**
 * The Proxmox rule for the name of the ipset a Proxmox driver owns (pve-clusterfw, pve-api).
 */
import type { OptionReader } from '../utils/options.js';

const NAME = /^[a-z][a-z0-9_-]{1,63}$/;

/** Proxmox lower-cases set names when it parses the file; upper case would make the API and file disagree. */
export function pveIpsetName(o: OptionReader, key: string, fallback: string): string {
  const name = o.optionalString(key) ?? fallback;
  if (!NAME.test(name)) {
    o.fail(`option ${key} ${JSON.stringify(name)} is not a valid Proxmox ipset name (lower-case letter, then 1-63 of a-z 0-9 _ -)`);
  }
  // Members of these sets are *allowed* (management ports, guest anti-spoofing): a ban there would open the door.
  if (name === 'management' || name.startsWith('ipfilter-')) {
    o.fail(`option ${key} "${name}" is a Proxmox set with a special meaning (it allows its members); use blacklist or fail2ban`);
  }
  return name;
}
