/**
 * The fleet's Prometheus textfile, one series per host (beside the reconciler's own). Pure.
 * The host label is the status ref's name, so two records cannot make one series twice
 * (node_exporter rejects a file with a duplicate series).
 */
import { escapeLabel as label } from '../status/run-status.js';
import type { FleetHost, FleetView } from './record.js';

export const FLEET_METRICS_FILE = 'fail2git-fleet.prom';

/** Fleet figures, per host: lag behind the tip in commits and seconds, silence, errors. */
export function renderFleetMetrics(view: FleetView): string {
  const hosts: FleetHost[] = [];
  const seen = new Set<string>();
  for (const h of view.hosts) {
    if (seen.has(h.host)) continue;
    seen.add(h.host);
    hosts.push(h);
  }
  const families: [name: string, help: string, value: (h: FleetHost) => number | undefined][] = [
    ['fail2git_fleet_lag_commits', "Commits between a host's applied commit and the ledger tip.", (h) => h.lagCommits],
    ['fail2git_fleet_lag_seconds', "Time between a host's applied commit and the ledger tip.", (h) => h.lagSeconds],
    ['fail2git_fleet_silent', '1 when a host has not reported for 3 of its intervals (or its record has no readable time).', (h) => (h.silent ? 1 : 0)],
    ['fail2git_fleet_error', "1 when a host's last run reported an error, or its record is refused.", (h) => (!h.record || h.record.lastError ? 1 : 0)],
    ['fail2git_fleet_invalid_record', "1 when the record under a host's status ref is refused (malformed, or naming another host).", (h) => (h.record ? 0 : 1)],
  ];
  // One group per metric family, one series per host: what node_exporter accepts.
  const lines = ['# HELP fail2git_fleet_hosts Hosts that published a status record.', '# TYPE fail2git_fleet_hosts gauge', `fail2git_fleet_hosts ${hosts.length}`];
  for (const [name, help, value] of families) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const h of hosts) {
      const v = value(h);
      if (v !== undefined) lines.push(`${name}{host="${label(h.host)}"} ${v}`);
    }
  }
  return lines.join('\n') + '\n';
}
