/** The fleet view as a table for people. Pure. */
import { formatDuration } from '../lib/duration.js';
import type { FleetView } from './record.js';

/** The fleet as a table, one host per line. Pure. */
export function renderFleet(view: FleetView): string {
  const rows = [['HOST', 'APPLIED', 'BEHIND', 'LAST SEEN', 'ERRORS']];
  for (const h of view.hosts) {
    const behind = h.lagCommits === undefined ? 'unknown' : h.lagCommits === 0 ? 'up to date' : `${h.lagCommits} commit${h.lagCommits === 1 ? '' : 's'}, ${formatDuration((h.lagSeconds ?? 0) * 1000)}`;
    const seen = `${formatDuration(h.seenAgoSeconds * 1000)} ago${h.silent ? ` SILENT (>${view.silentAfterIntervals}×${h.record.interval})` : ''}`;
    const errors = [h.record.lastError, ...Object.entries(h.record.targets).filter(([, t]) => t.error).map(([n, t]) => `${n}: ${t.error}`)]
      .filter((e): e is string => Boolean(e));
    rows.push([h.host, h.record.appliedCommit?.slice(0, 12) ?? '-', behind, seen, [...new Set(errors)].join('; ') || '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  const silent = view.hosts.filter((h) => h.silent).length;
  const failing = view.hosts.filter((h) => h.record.lastError).length;
  lines.push('', `tip ${view.tip.slice(0, 12)} (${view.tipTime}); ${view.hosts.length} hosts, ${failing} with errors, ${silent} silent`);
  return lines.join('\n');
}
