/**
 * Commit messages for spooled operations. Pure.
 *
 *     ban 203.0.113.7 (sshd@web1, 1h)            one operation
 *     fail2git web1: 12 operations              several, then one line per operation
 *
 * The body ends with one trailer block per changing operation (controller/git/trailers.ts,
 * which `audit` reads them with), all in the last
 * paragraph so `git interpret-trailers` sees them too. Ids of operations delivered without
 * a change are listed first as `Fail2git-Delivered`, so a re-run never applies them again.
 */
import { formatDuration } from '../controller/lib/duration.js';
import { deliveredTrailer, trailerBlock } from '../controller/git/trailers.js';
import { isChange, type OpResult } from './operations.js';

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
  const change = r.op.op !== 'unban';
  return trailerBlock(r.op.op, [
    ['Cidr', r.cidr],
    ['Jail', r.op.jail || undefined],
    ['Host', r.op.host],
    ['By', r.op.by !== r.op.host ? r.op.by : undefined],
    ['Expires', change ? r.expires ?? 'never' : undefined],
    ['Count', change ? r.count : undefined],
    ['At', r.op.at],
    ['Reason', r.op.reason || undefined],
    ['Id', r.op.id],
  ]);
}

/** The full message for the results of one flush round; null when nothing changes. */
export function commitMessage(host: string, results: readonly OpResult[]): string | null {
  const changes = results.filter(isChange);
  if (changes.length === 0) return null;
  const quiet = results.filter((r) => !isChange(r) && r.outcome !== 'refused');
  const subject = changes.length === 1 ? describe(changes[0]!) : `fail2git ${host}: ${changes.length} operations`;
  const parts = [subject];
  if (changes.length > 1) parts.push(changes.map(describe).join('\n'));
  const tail = [...quiet.map((r) => deliveredTrailer(r.op.id)), ...changes.flatMap(trailers)];
  parts.push(tail.join('\n'));
  return parts.join('\n\n') + '\n';
}
