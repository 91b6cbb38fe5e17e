/**
 * Renders a ledger change summary as plain text (terminals, GitLab job logs) or Markdown
 * (GitHub's step summary). One line per fact, findings first.
 *
 * Every value comes from the pull request (reasons, names, addresses that do not parse,
 * problem messages quoting them) and is escaped for the format it lands in: control
 * characters for both (a newline would forge a line), Markdown and HTML for Markdown (a
 * `<!--` would hide every section after it). Only fail2git's own words are left as written.
 */
import { markdownText, printable } from '../lib/printable.js';
import { findingCount, type Summary } from './pr-summary.js';

export type SummaryFormat = 'text' | 'markdown';

type Esc = (v: string) => string;

const MAX_PROBLEMS = 20;

function banLine(cidr: string, e: Record<string, unknown>, esc: Esc): string {
  const parts = [esc(cidr)];
  parts.push(typeof e.expires === 'string' ? `until ${esc(e.expires)}` : 'permanent');
  for (const k of ['by', 'jail', 'reason'] as const) if (typeof e[k] === 'string') parts.push(`${k}: ${esc(e[k] as string)}`);
  return parts.join(', ');
}

const show = (v: unknown, esc: Esc) => (v === undefined ? '(default)' : esc(JSON.stringify(v) ?? String(v)));
const withReason = (cidr: string, reason: string, esc: Esc) => `${esc(cidr)}${reason ? ` (${esc(reason)})` : ''}`;

/** Sections as [title, lines]; empty sections are left out. Lines are already escaped. */
function sections(s: Summary, esc: Esc): [string, string[]][] {
  const e = s.enforcement;
  const at = esc(e.at);
  const problems = s.headInvalid.slice(0, MAX_PROBLEMS).map((p) => `the head is not a valid ledger (hosts keep enforcing their last good commit): ${esc(p)}`);
  if (s.headInvalid.length > MAX_PROBLEMS) problems.push(`… and ${s.headInvalid.length - MAX_PROBLEMS} more problems (fail2git validate lists them)`);
  const all: [string, string[]][] = [
    ['Findings', [
      ...e.findings.map((f) => `${esc(f.cidr)} is newly enforced ${esc(f.detail)}`),
      ...s.overlaps.map((o) => `${esc(o.ban)} overlaps allowlisted ${withReason(o.allow, o.reason, esc)}: it will not be enforced there`),
      ...s.tooBroad.map((t) => `${esc(t.cidr)} is broader than the policy's broadest prefix /${t.limit}: it will not be enforced`),
      ...s.unparsable.map((u) => `not an address: ${esc(u)}`),
      ...problems,
    ]],
    [`Newly enforced at ${at}`, e.newlyEnforced.map((c) => `${esc(c.cidr)}: ${esc(c.detail)} (${banLine(c.cidr, { ...c.entry }, esc)})`)],
    [`No longer enforced at ${at}`, e.noLongerEnforced.map((c) => `${esc(c.cidr)}: ${esc(c.detail)} (${banLine(c.cidr, { ...c.entry }, esc)})`)],
    ['Bans added', s.bansAdded.map((b) => banLine(b.cidr, b.entry, esc))],
    ['Bans removed (unbanned everywhere)', s.bansRemoved.map((b) => banLine(b.cidr, b.entry, esc))],
    ['Bans changed', s.bansChanged.map((b) => `${esc(b.cidr)}: ${b.fields.map((f) => `${esc(f)} ${show(b.before[f], esc)} → ${show(b.after[f], esc)}`).join('; ')}`)],
    ['Allowlist added', s.allowAdded.map((a) => withReason(a.cidr, a.reason, esc))],
    ['Allowlist removed', s.allowRemoved.map((a) => withReason(a.cidr, a.reason, esc))],
    ['Policy changed', s.policyChanged.map((p) => `${esc(p.key)}: ${show(p.before, esc)} → ${show(p.after, esc)}`)],
    ['Targets', [
      ...s.targetsAdded.map((t) => `added ${esc(t)}`),
      ...s.targetsRemoved.map((t) => `removed ${esc(t)} (its hosts stop enforcing it; entries stay until cleaned)`),
      ...s.targetsChanged.map((t) => `changed ${esc(t)}`),
    ]],
  ];
  return all.filter(([, lines]) => lines.length > 0);
}

export function headline(s: Summary): string {
  const n = (x: number, what: string) => `${x} ${what}${x === 1 ? '' : 's'}`;
  const parts = [n(s.bansAdded.length, 'ban') + ' added', `${s.bansRemoved.length} removed`, `${s.bansChanged.length} changed`];
  const e = s.enforcement;
  if (e.newlyEnforced.length + e.noLongerEnforced.length > 0) parts.push(`${e.newlyEnforced.length} newly enforced`, `${e.noLongerEnforced.length} no longer enforced`);
  const findings = findingCount(s);
  parts.push(findings === 0 ? 'no findings' : n(findings, 'finding'));
  return parts.join(', ');
}

export function formatSummary(s: Summary, format: SummaryFormat, range: string): string {
  if (format === 'markdown') {
    const secs = sections(s, markdownText);
    const body = secs.flatMap(([title, lines]) => [`### ${title === 'Findings' ? '⚠️ Findings' : title}`, ...lines.map((l) => `- ${l}`), '']);
    return [`## fail2git review (${markdownText(range)})`, '', `**${headline(s)}**`, '', ...body].join('\n').trimEnd() + '\n';
  }
  const secs = sections(s, printable);
  const body = secs.flatMap(([title, lines]) => [`${title}:`, ...lines.map((l) => `  ${l}`)]);
  return [`fail2git review ${printable(range)}: ${headline(s)}`, ...body].join('\n') + '\n';
}
