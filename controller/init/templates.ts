/**
 * The files of a new ledger repository (`fail2git init`): the four `bans/` documents with
 * safe defaults. Pure: text in, text out; the command writes them.
 */
import { compareCidr, parseCidr } from '../net/cidr.js';

export interface AllowSeed {
  cidr: string;
  reason: string;
}

export const BANS_TEMPLATE = `# The desired bans. One entry per line, sorted by address (IPv4 before IPv6).
# fail2ban hooks and \`fail2git ban\` keep this file in canonical layout; \`fail2git fmt\` restores it.
# Entry: {cidr, expires (RFC 3339 UTC; absent = permanent), at, by, jail, reason, count}
apiVersion: fail2git/v1
kind: BanList
bans: []
`;

/** An entry's YAML value: quoted when it holds a colon (IPv6) or other YAML-significant text. */
function flowScalar(text: string): string {
  return /^[A-Za-z0-9 ._/()-]+$/.test(text) && !/^[\d.]+$/.test(text) ? text : JSON.stringify(text);
}

/** allow.yaml: the management networks given to init, or an empty list and a loud reminder. */
export function allowTemplate(seeds: AllowSeed[]): string {
  const head = [
    '# Networks that are NEVER banned, whatever active.yaml says. Put your management',
    '# networks, monitoring, VPN ranges and the fleet\'s own addresses here FIRST: anyone who',
    '# can push to this repository can otherwise ban the admins out of every host.',
    'apiVersion: fail2git/v1',
    'kind: AllowList',
  ];
  if (seeds.length === 0) {
    return [
      ...head,
      '# TODO before enforcing: add your management networks, e.g.',
      '#   - {cidr: 192.0.2.0/24, reason: management network}',
      'allow: []',
      '',
    ].join('\n');
  }
  // Canonical layout, as `fail2git fmt` writes it: sorted by address, IPv6 quoted (colons).
  const sorted = seeds.map((s) => ({ c: parseCidr(s.cidr), reason: s.reason })).sort((a, b) => compareCidr(a.c, b.c));
  const lines = sorted.map((s) => `  - {cidr: ${s.c.family === 6 ? JSON.stringify(s.c.key) : s.c.key}, reason: ${flowScalar(s.reason)}}`);
  return [...head, 'allow:', ...lines, ''].join('\n');
}

export const POLICY_TEMPLATE = `# Defaults and guardrails for every writer and reconciler of this ledger.
apiVersion: fail2git/v1
kind: Policy
spec:
  defaultTtl: 1h                        # \`fail2git ban\` without --ttl
  broadestPrefix: {ipv4: 16, ipv6: 48}  # anything broader is never enforced
  banPrefix: {ipv4: 32, ipv6: 64}       # a single address from a hook is banned at this prefix
  maxRemovePerRun: 50%                  # refuse plans removing more than this from one target (until --force)
  escalation: {factor: 2, maxTtl: 7d}   # repeat offenders: bantime × 2^(count−1), capped
  gcGrace: 1h                           # gc removes lines expired longer ago than this
`;

/**
 * targets.yaml with one document per driver, all commented out: nothing is enforced until
 * someone decides where. Uncomment and set \`hosts\` to pick the enforcing hosts.
 */
export const TARGETS_TEMPLATE = `# Where bans are enforced: one document per target, separated by \`---\`.
# \`hosts\` are glob patterns on the host name (absent = every host running the reconciler).
# Secrets never live here: pve-api's tokenSecretFile points to a file on the enforcing host.
# Nothing is enforced until you uncomment a target.
#
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: kernel}
# spec:
#   driver: ipset                # hash:net sets fail2git-v4 / fail2git-v6 + an iptables DROP rule
#   hosts: ["web*", "mail*"]
#   options: {setName: fail2git, enforce: input}
# ---
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: gateway}
# spec:
#   driver: nftables             # its own inet table with interval sets; enforce: forward on routers
#   hosts: ["gw*"]
#   options: {table: fail2git, enforce: forward}
# ---
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: blackhole}
# spec:
#   driver: route                # blackhole routes with their own proto number
#   hosts: ["edge*"]
#   options: {proto: 252}
# ---
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: datacenter}
# spec:
#   driver: pve-clusterfw        # one [IPSET] section of cluster.fw; run it on ONE node only
#   hosts: ["pve1"]
#   options: {path: /etc/pve/firewall/cluster.fw, ipset: fail2git}
# ---
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: proxmox-api}
# spec:
#   driver: pve-api              # a cluster IPSet over the REST API, TLS pinned
#   hosts: ["mgmt1"]
#   options:
#     url: https://pve.example.net:8006
#     tokenId: fail2git@pve!reconciler
#     tokenSecretFile: /etc/fail2git/pve-token
#     fingerprint: "AA:BB:…:FF"    # or caFile: /etc/fail2git/pve-ca.pem
#     ipset: fail2git
# ---
# apiVersion: fail2git/v1
# kind: Target
# metadata: {name: firewall-alias}
# spec:
#   driver: file                 # a plain list for a pfSense/OPNsense URL table alias
#   hosts: ["www1"]
#   options: {path: /var/www/html/fail2git.txt, format: txt}
`;
