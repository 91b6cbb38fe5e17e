/** Embedded inputs for `fail2git demo`: the demo's targets and a Proxmox-style cluster.fw. */

/** A datacenter firewall as Proxmox writes it: options, aliases, a management set, rules. */
export const DEMO_CLUSTER_FW = `[OPTIONS]

enable: 1
policy_in: DROP

[ALIASES]

office 192.0.2.0/28 # the admins

[IPSET management] # may reach the GUI and SSH

office
192.0.2.40

[RULES]

IN ACCEPT -source +management -p tcp -dport 8006 # web GUI
IN DROP -source +dc/fail2ban # fail2git bans (the set below)
`;

export interface DemoPaths {
  list: string;
  clusterFw: string;
}

/** Target documents for the demo: pve1 runs a file list and cluster.fw; gw1 the kernel targets. */
export function demoTargets(p: DemoPaths, netnsSuffix: string): string {
  return `# Targets of the demo ledger (fail2git demo). One document per target.
apiVersion: fail2git/v1
kind: Target
metadata: {name: url-table}
spec:
  driver: file
  hosts: ["pve1"]
  options: {path: ${JSON.stringify(p.list)}, format: txt}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: datacenter}
spec:
  driver: pve-clusterfw
  hosts: ["pve1"]
  options: {path: ${JSON.stringify(p.clusterFw)}, ipset: fail2ban}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: kernel-ipset}
spec:
  driver: ipset
  hosts: ["gw1"]
  options: {setName: f2gdemo${netnsSuffix}, enforce: input}
---
apiVersion: fail2git/v1
kind: Target
metadata: {name: kernel-nft}
spec:
  driver: nftables
  hosts: ["gw1"]
  options: {table: f2gdemo${netnsSuffix}, enforce: forward}
`;
}
