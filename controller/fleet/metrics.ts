/** The fleet's Prometheus textfile, one series per host (beside the reconciler's own). Pure. */
import { escapeLabel as label } from '../status/run-status.js';
import type { FleetView } from './record.js';

export const FLEET_METRICS_FILE = 'fail2git-fleet.prom';

/** Fleet figures, per host: lag behind the tip in commits and seconds, silence, errors. */
export function renderFleetMetrics(view: FleetView): string {
  const lines = [
    '# HELP fail2git_fleet_hosts Hosts that published a status record.',
    '# TYPE fail2git_fleet_hosts gauge',
    `fail2git_fleet_hosts ${view.hosts.length}`,
    '# HELP fail2git_fleet_lag_commits Commits between a host\'s applied commit and the ledger tip.',
    '# TYPE fail2git_fleet_lag_commits gauge',
    '# HELP fail2git_fleet_lag_seconds Time between a host\'s applied commit and the ledger tip.',
    '# TYPE fail2git_fleet_lag_seconds gauge',
    '# HELP fail2git_fleet_silent 1 when a host has not reported for 3 of its intervals.',
    '# TYPE fail2git_fleet_silent gauge',
    '# HELP fail2git_fleet_error 1 when a host\'s last run reported an error.',
    '# TYPE fail2git_fleet_error gauge',
  ];
  for (const h of view.hosts) {
    const l = `{host="${label(h.host)}"}`;
    if (h.lagCommits !== undefined) lines.push(`fail2git_fleet_lag_commits${l} ${h.lagCommits}`);
    if (h.lagSeconds !== undefined) lines.push(`fail2git_fleet_lag_seconds${l} ${h.lagSeconds}`);
    lines.push(`fail2git_fleet_silent${l} ${h.silent ? 1 : 0}`);
    lines.push(`fail2git_fleet_error${l} ${h.record.lastError ? 1 : 0}`);
  }
  return lines.join('\n') + '\n';
}
