/** gc's Prometheus textfile (beside the reconciler's own; see controller/status/metrics.ts). Pure. */
import type { GcResult } from './run.js';

export const GC_METRICS_FILE = 'fail2git-gc.prom';

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
