/** Text and JSON forms of an audit report. Pure. */
import { printable } from '../lib/printable.js';
import type { AuditReport } from './history.js';
import type { AuditEvent } from './timeline.js';

function where(e: { cidr: string; relation: string }): string {
  if (e.relation === 'covered-by') return `${e.cidr} (covers it)`;
  if (e.relation === 'within') return `${e.cidr} (within it)`;
  return e.cidr;
}

function actorText(e: AuditEvent): string {
  if (e.via === 'fail2ban') return `by ${e.actor} (fail2ban${e.jail ? ` ${e.jail}` : ''})`;
  if (e.via === 'gc') return `by ${e.actor} (gc)`;
  if (e.via === 'hand-edit') return `by ${e.actor} (hand edit)`;
  return `by ${e.actor} (manual)`;
}

function details(e: AuditEvent): string {
  const parts: string[] = [];
  if (e.ttl) parts.push(e.ttl === 'permanent' ? 'permanent' : `ttl ${e.ttl}`);
  if (e.expires && e.action !== 'edited') parts.push(`${e.action === 'expired' ? 'expired' : 'until'} ${e.expires}`);
  if (e.count !== undefined) parts.push(`count ${e.count}`);
  if (e.detail) parts.push(e.detail);
  if (e.reason) parts.push(`reason ${JSON.stringify(e.reason)}`);
  return parts.join(', ');
}

/**
 * One line per event: time, action, what, actor, details, commit. Actors, jails and reasons
 * come from commits anyone with push access wrote: every line is printed with its control
 * characters escaped, so none forges a line or drives the terminal.
 */
export function renderAuditText(report: AuditReport, now: Date = new Date()): string {
  const lines: string[] = [];
  if (report.historyMissing) lines.push(`warning: ${report.historyMissing}`);
  if (report.events.length === 0 && report.current.length === 0) {
    const from = report.historyFrom ? ` in ${report.commitsRead} commits since ${report.historyFrom}` : '';
    lines.push(`${report.query} was never banned${from}`);
    return lines.map(printable).join('\n');
  }
  for (const e of report.events) {
    const d = details(e);
    lines.push(`${e.time}  ${e.action.padEnd(9)} ${where(e)}  ${actorText(e)}${d ? `  ${d}` : ''}  ${e.commit.slice(0, 12)}`);
  }
  if (report.current.length === 0) {
    lines.push(`now: not in the ledger at ${report.rev.slice(0, 12)}`);
  }
  for (const c of report.current) {
    const expired = c.entry.expires !== undefined && Date.parse(c.entry.expires) <= now.getTime();
    const until = !c.entry.expires ? 'permanent' : expired ? `expired ${c.entry.expires}, awaiting gc` : `until ${c.entry.expires}`;
    const by = c.entry.by ? `, by ${c.entry.by}` : '';
    const rel = c.relation === 'exact' ? 'banned' : c.relation === 'covered-by' ? `covered by ${c.cidr}` : `contains ban ${c.cidr}`;
    lines.push(`now: ${rel} (${until}${by}) at ${report.rev.slice(0, 12)}`);
  }
  return lines.map(printable).join('\n');
}

export function renderAuditJson(report: AuditReport): string {
  return JSON.stringify({ ...report, neverBanned: report.events.length === 0 && report.current.length === 0 }, null, 2);
}
