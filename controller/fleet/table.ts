/**
 * The fleet view as a table for people. Pure. Names and messages come from status refs,
 * which anyone who can push writes: every cell is printed with control characters escaped,
 * so none forges a row or drives the terminal.
 */
import { formatDuration } from '../lib/duration.js';
import { printable } from '../lib/printable.js';
import { silentAfterLabel, type FleetHost, type FleetView } from './record.js';

function row(h: FleetHost, view: FleetView): string[] {
  if (!h.record) return [h.host, '-', 'unknown', 'INVALID RECORD', h.problem ?? 'no readable record'];
  const r = h.record;
  const behind = h.lagCommits === undefined ? 'unknown' : h.lagCommits === 0 ? 'up to date' : `${h.lagCommits} commit${h.lagCommits === 1 ? '' : 's'}, ${formatDuration((h.lagSeconds ?? 0) * 1000)}`;
  const ago = h.seenAgoSeconds === undefined ? 'never (no readable "seen")' : `${formatDuration(h.seenAgoSeconds * 1000)} ago`;
  const seen = `${ago}${h.silent ? ` SILENT (>${silentAfterLabel(r)})` : ''}`;
  const errors = [r.lastError, ...Object.entries(r.targets).filter(([, t]) => t.error).map(([n, t]) => `${n}: ${t.error}`)]
    .filter((e): e is string => Boolean(e));
  return [h.host, r.appliedCommit?.slice(0, 12) ?? '-', behind, seen, [...new Set(errors)].join('; ') || '-'];
}

/** The fleet as a table, one host per line. Pure. */
export function renderFleet(view: FleetView): string {
  const rows = [['HOST', 'APPLIED', 'BEHIND', 'LAST SEEN', 'ERRORS'], ...view.hosts.map((h) => row(h, view).map(printable))];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  const silent = view.hosts.filter((h) => h.silent).length;
  const failing = view.hosts.filter((h) => h.record?.lastError).length;
  const invalid = view.hosts.filter((h) => !h.record).length;
  lines.push('', `tip ${view.tip.slice(0, 12)} (${view.tipTime}); ${view.hosts.length} hosts, ${failing} with errors, ${silent} silent${invalid ? `, ${invalid} with an invalid record` : ''}`);
  return lines.join('\n');
}
