/**
 * Garbage collection of the ledger: which ban lines to drop because their `expires` passed
 * more than the grace period ago. Pure.
 *
 * Works on the text of `bans/active.yaml` line by line: in the canonical layout every entry
 * is one flow-style line with `expires` right after `cidr`, so dropping lines keeps every
 * other byte (comments, order, the header) exactly as it was, and a 100k-line file costs one
 * pass with no YAML parse (a line in another key order gets an exact YAML parse of that
 * line alone). A line gc cannot read is kept: gc never removes what it does not
 * understand (a permanent ban misread as expired would be lifted network-wide).
 */
import { formatTime } from '../lib/duration.js';
import { trailerBlock } from '../git/trailers.js';
import { looksLikeEntryLine, parseEntryLine, readCidrExpires } from '../ledger/banlist-lines.js';

/** One entry gc removes. */
export interface Expired {
  cidr: string;
  expires: string;
}

export interface GcPlan {
  /** the new file text; equal to the input when nothing expired */
  text: string;
  expired: Expired[];
  /** lines kept because gc could not read them as an entry (reported, never removed) */
  unreadable: number;
}

const UTC_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** When an entry expired `graceMs` before `now`, it may go: `expires + grace <= now`. */
export function gcCutoff(now: Date, graceMs: number): number {
  return now.getTime() - graceMs;
}

/** The lines of `text` to keep and the entries dropped, for a cutoff (ms since the epoch). */
export function planGc(text: string, cutoffMs: number): GcPlan {
  const lines = text.split('\n');
  const kept: string[] = [];
  const expired: Expired[] = [];
  let unreadable = 0;
  // Canonical times (`2026-11-25T10:00:00Z`) order as strings: compare text, parse only others.
  // A whole-second expiry is <= the cutoff exactly when it is <= the cutoff's whole second.
  const cutoffText = formatTime(new Date(Math.floor(cutoffMs / 1000) * 1000));
  for (const line of lines) {
    const m = readCidrExpires(line);
    if (m) {
      const { cidr, expires } = m;
      const at = UTC_SECONDS.test(expires) ? (expires <= cutoffText ? -Infinity : Infinity) : Date.parse(expires);
      if (Number.isNaN(at)) unreadable++;
      else if (at <= cutoffMs) {
        expired.push({ cidr, expires });
        continue;
      }
    } else if (looksLikeEntryLine(line) && /\bexpires:/.test(line)) {
      // Not in canonical key order (a hand edit): the slow, exact path for this line only.
      const entry = parseEntryLine(line);
      if (!entry) unreadable++; // looks like an entry, is not one: keep it, say so
      else if (entry.expires !== undefined) {
        const at = Date.parse(entry.expires);
        if (Number.isNaN(at)) unreadable++;
        else if (at <= cutoffMs) {
          expired.push({ cidr: entry.cidr, expires: entry.expires });
          continue;
        }
      }
    }
    kept.push(line);
  }
  if (expired.length === 0) return { text, expired, unreadable };
  return { text: emptyListFix(kept).join('\n'), expired, unreadable };
}

/** `bans:` with no entries left must become `bans: []` to stay a valid BanList. */
function emptyListFix(lines: string[]): string[] {
  const i = lines.findIndex((l) => /^bans:\s*(#.*)?$/.test(l));
  if (i === -1) return lines;
  const rest = lines.slice(i + 1);
  if (rest.some((l) => looksLikeEntryLine(l) || /^\s+-/.test(l))) return lines;
  return [...lines.slice(0, i), 'bans: []', ...rest];
}

/** `gc: expire 37 bans` and one trailer block per entry (what `audit` reads). */
export function gcMessage(host: string, expired: readonly Expired[], now: Date): string {
  const n = expired.length;
  const subject = `gc: expire ${n} ${n === 1 ? 'ban' : 'bans'}`;
  const blocks = expired.map((e) => trailerBlock('expire', [['Cidr', e.cidr], ['Host', host], ['Expires', e.expires]]).join('\n'));
  return `${subject}\n\nRemoved by ${host} at ${formatTime(now)}: entries expired before the grace period.\n\n${blocks.join('\n')}\n`;
}
