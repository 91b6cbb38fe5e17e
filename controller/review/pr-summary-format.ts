/**
 * Renders a ledger change summary as plain text (terminals, GitLab job logs) or Markdown
 * (GitHub's step summary). One line per fact, findings first.
 */
import type { Summary } from './pr-summary.js';

export type SummaryFormat = 'text' | 'markdown';

function banLine(cidr: string, e: Record<string, unknown>): string {
  const parts = [cidr];
  parts.push(typeof e.expires === 'string' ? `until ${e.expires}` : 'permanent');
  for (const k of ['by', 'jail', 'reason'] as const) if (typeof e[k] === 'string') parts.push(`${k}: ${e[k] as string}`);
  return parts.join(', ');
}

const show = (v: unknown) => (v === undefined ? '(default)' : JSON.stringify(v));

/** Sections as [title, lines]; empty sections are left out. */
function sections(s: Summary): [string, string[]][] {
  const all: [string, string[]][] = [
    ['Findings', [
      ...s.overlaps.map((o) => `${o.ban} overlaps allowlisted ${o.allow}${o.reason ? ` (${o.reason})` : ''}: it will not be enforced there`),
      ...s.tooBroad.map((t) => `${t.cidr} is broader than the policy's broadest prefix /${t.limit}: it will not be enforced`),
      ...s.unparsable.map((u) => `not an address: ${u}`),
    ]],
    ['Bans added', s.bansAdded.map((b) => banLine(b.cidr, b.entry))],
    ['Bans removed (unbanned everywhere)', s.bansRemoved.map((b) => banLine(b.cidr, b.entry))],
    ['Bans changed', s.bansChanged.map((b) => `${b.cidr}: ${b.fields.map((f) => `${f} ${show(b.before[f])} → ${show(b.after[f])}`).join('; ')}`)],
    ['Allowlist added', s.allowAdded.map((a) => `${a.cidr}${a.reason ? ` (${a.reason})` : ''}`)],
    ['Allowlist removed', s.allowRemoved.map((a) => `${a.cidr}${a.reason ? ` (${a.reason})` : ''}`)],
    ['Policy changed', s.policyChanged.map((p) => `${p.key}: ${show(p.before)} → ${show(p.after)}`)],
    ['Targets', [
      ...s.targetsAdded.map((t) => `added ${t}`),
      ...s.targetsRemoved.map((t) => `removed ${t} (its hosts stop enforcing it; entries stay until cleaned)`),
      ...s.targetsChanged.map((t) => `changed ${t}`),
    ]],
  ];
  return all.filter(([, lines]) => lines.length > 0);
}

export function headline(s: Summary): string {
  const n = (x: number, what: string) => `${x} ${what}${x === 1 ? '' : 's'}`;
  const parts = [n(s.bansAdded.length, 'ban') + ' added', `${s.bansRemoved.length} removed`, `${s.bansChanged.length} changed`];
  const findings = s.overlaps.length + s.tooBroad.length + s.unparsable.length;
  parts.push(findings === 0 ? 'no findings' : n(findings, 'finding'));
  return parts.join(', ');
}

export function formatSummary(s: Summary, format: SummaryFormat, range: string): string {
  const secs = sections(s);
  if (format === 'markdown') {
    const body = secs.flatMap(([title, lines]) => [`### ${title === 'Findings' ? '⚠️ Findings' : title}`, ...lines.map((l) => `- \`${l.replace(/`/g, "'")}\``), '']);
    return [`## fail2git review (${range})`, '', `**${headline(s)}**`, '', ...body].join('\n').trimEnd() + '\n';
  }
  const body = secs.flatMap(([title, lines]) => [`${title}:`, ...lines.map((l) => `  ${l}`)]);
  return [`fail2git review ${range}: ${headline(s)}`, ...body].join('\n') + '\n';
}
