/**
 * Addresses a Proxmox cluster needs to reach itself: members of the `management` ipset
 * (aliases resolved), the `local_network` alias, and corosync ring addresses. Banning any
 * of them locks admins out or breaks the cluster, because Proxmox checks the blacklist
 * before its management and corosync accept rules. Pure parsing; no I/O.
 */
import { parseAliases, parseIpsetLine, sectionsNamed, type FwDoc } from './fw-text.js';
import { networkOf } from '../../net/cidr.js';

function resolveToken(token: string, aliases: Map<string, string>): string | undefined {
  const alias = aliases.get(token.replace(/^(dc|guest)\//i, '').toLowerCase());
  return networkOf(alias ?? token)?.key;
}

export function clusterFwProtected(doc: FwDoc): string[] {
  const aliases = parseAliases(doc);
  const out = new Set<string>();
  for (const s of sectionsNamed(doc, 'ipset', 'management')) {
    for (let i = s.start + 1; i < s.end; i++) {
      const line = parseIpsetLine(doc.lines[i]!);
      const key = line && !line.nomatch ? resolveToken(line.token, aliases) : undefined;
      if (key) out.add(key);
    }
  }
  const local = aliases.get('local_network');
  const localKey = local ? networkOf(local)?.key : undefined;
  if (localKey) out.add(localKey);
  return [...out];
}

/** `ringN_addr:` values of corosync.conf that are IP addresses (host names are skipped). */
export function corosyncAddresses(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*ring\d+_addr\s*:\s*(\S+)\s*$/gm)) {
    const key = networkOf(m[1]!)?.key;
    if (key) out.add(key);
  }
  return [...out];
}
