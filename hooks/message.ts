/**
 * Commit messages for spooled operations. Pure.
 *
 *     ban 203.0.113.7 (sshd@web1, 1h)            one operation
 *     fail2git web1: 12 operations              several, then one line per operation
 *
 * The body ends with one trailer block per changing operation, each starting with
 * `Fail2git-Op` (what `audit` reads; see controller/audit/trailers.ts), all in the last
 * paragraph so `git interpret-trailers` sees them too. Ids of operations delivered without
 * a change are listed first as `Fail2git-Delivered`, so a re-run never applies them again.
 */
import { formatDuration } from '../controller/lib/duration.js';
import { isChange, type OpResult } from './operations.js';

/** Trailer values are one line: anything else would forge or break the next trailer. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\t\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 200);
}

function ttlText(r: OpResult): string {
  if (r.ttl === undefined) return '';
  return r.ttl < 0 || r.expires === undefined ? 'permanent' : formatDuration(r.ttl * 1000);
}

/** `ban 203.0.113.7 (sshd@web1, 1h)`, `unban 203.0.113.7 (alice)`. */
export function describe(r: OpResult): string {
  const who = r.op.jail ? `${r.op.jail}@${r.op.by}` : r.op.by;
  const ttl = r.op.op === 'unban' ? '' : ttlText(r);
  return `${r.op.op} ${r.cidr} (${ttl ? `${who}, ${ttl}` : who})`;
}

function trailers(r: OpResult): string[] {
  const lines = [`Fail2git-Op: ${r.op.op}`, `Fail2git-Cidr: ${r.cidr}`];
  if (r.op.jail) lines.push(`Fail2git-Jail: ${oneLine(r.op.jail)}`);
  lines.push(`Fail2git-Host: ${r.op.host}`);
  if (r.op.by !== r.op.host) lines.push(`Fail2git-By: ${oneLine(r.op.by)}`);
  if (r.op.op !== 'unban') {
    lines.push(`Fail2git-Expires: ${r.expires ?? 'never'}`);
    if (r.count !== undefined) lines.push(`Fail2git-Count: ${r.count}`);
  }
  lines.push(`Fail2git-At: ${r.op.at}`);
  if (r.op.reason) lines.push(`Fail2git-Reason: ${oneLine(r.op.reason)}`);
  lines.push(`Fail2git-Id: ${r.op.id}`);
  return lines;
}

/** The full message for the results of one flush round; null when nothing changes. */
export function commitMessage(host: string, results: readonly OpResult[]): string | null {
  const changes = results.filter(isChange);
  if (changes.length === 0) return null;
  const quiet = results.filter((r) => !isChange(r) && r.outcome !== 'refused');
  const subject = changes.length === 1 ? describe(changes[0]!) : `fail2git ${host}: ${changes.length} operations`;
  const parts = [subject];
  if (changes.length > 1) parts.push(changes.map(describe).join('\n'));
  const tail = [...quiet.map((r) => `Fail2git-Delivered: ${r.op.id}`), ...changes.flatMap(trailers)];
  parts.push(tail.join('\n'));
  return parts.join('\n\n') + '\n';
}

const ID_LINE = /^Fail2git-(?:Id|Delivered):[ \t]*(\S+)\s*$/gm;

/** Operation ids recorded in commit messages (any text containing them). */
export function deliveredIds(text: string): Set<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(ID_LINE)) ids.add(m[1]!);
  return ids;
}
