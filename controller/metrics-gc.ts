/**
 * Prometheus textfiles for gc and fleet status, written next to the reconciler's own
 * (`metricsFile`) as separate files: node_exporter's textfile collector reads every `*.prom`
 * in the directory, and separate files mean gc, fleet and reconcile never overwrite each
 * other's figures. Rendering is pure; writing is atomic.
 */
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from './status.js';
import type { GcResult } from './gc-run.js';
import type { FleetView } from './fleet.js';

export const GC_METRICS_FILE = 'fail2git-gc.prom';
export const FLEET_METRICS_FILE = 'fail2git-fleet.prom';

const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** gc figures: entries removed by this host's last gc, when it ran, whether it committed. */
export function renderGcMetrics(result: GcResult | null, now: Date, ok = true): string {
  const t = Math.floor(now.getTime() / 1000);
  const lines = [
    '# HELP fail2git_gc_last_run_timestamp_seconds When this host last ran gc.',
    '# TYPE fail2git_gc_last_run_timestamp_seconds gauge',
    `fail2git_gc_last_run_timestamp_seconds ${t}`,
    '# HELP fail2git_gc_last_success Whether the last gc run succeeded (1) or failed (0).',
    '# TYPE fail2git_gc_last_success gauge',
    `fail2git_gc_last_success ${ok ? 1 : 0}`,
    '# HELP fail2git_gc_removed_entries Expired entries the last gc run removed from the ledger.',
    '# TYPE fail2git_gc_removed_entries gauge',
    `fail2git_gc_removed_entries ${result?.commit ? result.expired.length : 0}`,
    '# HELP fail2git_gc_unreadable_entries Entries with an expiry gc could not read (kept).',
    '# TYPE fail2git_gc_unreadable_entries gauge',
    `fail2git_gc_unreadable_entries ${result?.unreadable ?? 0}`,
  ];
  return lines.join('\n') + '\n';
}

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

/** Writes `text` as `name` in the directory of the reconciler's metrics file. */
export function writeMetricsFile(metricsFile: string, name: string, text: string): string {
  const dir = dirname(metricsFile);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileAtomic(path, text);
  return path;
}
