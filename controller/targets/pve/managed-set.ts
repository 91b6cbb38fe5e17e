/**
 * The one `[IPSET name]` section fail2git owns in cluster.fw: reading the entries it
 * wrote (marked by a `fail2git` entry comment, which Proxmox keeps when it rewrites the
 * file, unlike `#` comment lines) and splicing a plan into the section's lines. Lines
 * that are not ours (hand-made members, nomatch entries, comment lines) stay untouched.
 * Pure; no I/O.
 */
import { compareCidr, networkOf, parseCidr, type Cidr, type Family } from '../../net/cidr.js';
import { TargetError } from '../../lib/errors.js';
import type { DesiredEntry, ObservedEntry } from '../types.js';
import { parseIpsetLine, sectionsNamed, splitFw, trimH, type FwDoc, type IpsetLine, type Section } from './fw-text.js';

export const MARKER = 'fail2git';
export const SECTION_COMMENT = 'fail2git managed bans';

/** A member Proxmox stores and we wrote: no `!`, comment starting with the marker. */
export function isOwned(line: IpsetLine): boolean {
  return !line.nomatch && isMarker(line.comment);
}

/** `fail2git` as the comment's first word (`fail2git-like` or `not fail2git` are someone else's). */
export function isMarker(comment: string | undefined): boolean {
  return comment !== undefined && /^fail2git(\s|$)/.test(comment);
}

const UNSAFE = /[^A-Za-z0-9._:@+\-]/g;
const clean = (s: string): string => s.replace(UNSAFE, '_').slice(0, 64);

/**
 * `fail2git sshd@web1 until 2026-11-25T12:00:00Z`: one line, no `#`, nothing a parser
 * could take for another token or a line break (Proxmox writes comments verbatim).
 */
export function markerComment(entry: DesiredEntry, host: string): string {
  const who = `${clean(entry.jail ?? 'manual')}@${clean(entry.by ?? host)}`;
  return entry.expires ? `${MARKER} ${who} until ${clean(entry.expires)}` : `${MARKER} ${who} permanent`;
}

/** Our single section, or undefined; two sections of the name are refused (the Rust parser rejects the file). */
export function findManaged(doc: FwDoc, name: string, path: string, target: string): Section | undefined {
  const found = sectionsNamed(doc, 'ipset', name);
  if (found.length > 1) {
    const at = found.map((s) => s.start + 1).join(', ');
    throw new TargetError(target, 'E_PVE_DUPLICATE_SECTION', `${path}: [IPSET ${name}] appears ${found.length} times (lines ${at}); Proxmox keeps only the last, the nftables parser rejects the file; merge them by hand`);
  }
  return found[0];
}

export function ownedEntries(doc: FwDoc, section: Section | undefined): ObservedEntry[] {
  if (!section) return [];
  const seen = new Map<string, ObservedEntry>();
  for (let i = section.start + 1; i < section.end; i++) {
    const line = parseIpsetLine(doc.lines[i]!);
    if (!line || !isOwned(line)) continue;
    const key = networkOf(line.token);
    if (!key || seen.has(key.key)) continue;
    const observed: ObservedEntry = { cidr: key.key, family: key.family };
    if (line.token !== key.key) observed.raw = line.token;
    seen.set(key.key, observed);
  }
  return [...seen.values()];
}

/**
 * Lines of our section that are ours but broken, which every write drops (then re-adds what
 * the ledger wants, properly): a marked member that is an exception (`! cidr # fail2git …`,
 * which un-bans) or names no network (an alias, a typo), and a last line cut off by a
 * writer that died mid-write (the file ends without a newline inside our section, on a line
 * that is not a whole marked member). Indices into doc.lines.
 */
export function brokenLines(doc: FwDoc, section: Section | undefined): number[] {
  if (!section) return [];
  const out: number[] = [];
  const last = doc.lines.length - 1;
  const torn = section.end === doc.lines.length && doc.lines[last] !== '';
  for (let i = section.start + 1; i < section.end; i++) {
    const line = parseIpsetLine(doc.lines[i]!);
    if (!line) continue;
    const marked = isMarker(line.comment);
    if (marked && (line.nomatch || !networkOf(line.token))) out.push(i);
    else if (torn && i === last && !(marked && networkOf(line.token))) out.push(i);
  }
  return out;
}

/** Networks that members of the section fail2git did not make ban (no `!`, no marker): they enforce already. */
export function foreignBans(doc: FwDoc, section: Section | undefined): string[] {
  const out: string[] = [];
  for (let i = section ? section.start + 1 : 0; section && i < section.end; i++) {
    const line = parseIpsetLine(doc.lines[i]!);
    if (!line || line.nomatch || isMarker(line.comment)) continue;
    const key = networkOf(line.token)?.key;
    if (key !== undefined) out.push(key);
  }
  return out;
}

/** How many of our member lines the section holds and their bytes (newlines included). */
export function ownedLineStats(doc: FwDoc, section: Section | undefined): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  for (let i = section ? section.start + 1 : 0; section && i < section.end; i++) {
    const line = parseIpsetLine(doc.lines[i]!);
    if (!line || !isOwned(line)) continue;
    count++;
    bytes += Buffer.byteLength(doc.lines[i]!) + 1;
  }
  return { count, bytes };
}

export interface SplicePlan {
  add: { cidr: string; family: Family; comment: string }[];
  remove: ObservedEntry[];
}

export interface SpliceResult {
  text: string;
  added: number;
  removed: number;
}

/** Applies a plan to the text; every line outside the managed section is kept as is. */
export function spliceManaged(text: string, name: string, plan: SplicePlan, path: string, target: string): SpliceResult {
  const doc = splitFw(text);
  const section = findManaged(doc, name, path, target);
  const removeRaw = new Set(plan.remove.map((r) => r.raw ?? r.cidr));
  const removeKeys = new Set(plan.remove.map((r) => r.cidr));
  const kept: string[] = [];
  const present = new Set<string>();
  let removed = 0;
  let lastMember = -1;
  const broken = new Set(brokenLines(doc, section));
  const body = section ? doc.lines.slice(section.start + 1, section.end) : [];
  for (const [k, raw] of body.entries()) {
    if (broken.has(section!.start + 1 + k)) continue;
    const line = parseIpsetLine(raw);
    const key = line ? networkOf(line.token) : undefined;
    if (line && isOwned(line) && (removeRaw.has(line.token) || (key && removeKeys.has(key.key)))) {
      removed++;
      continue;
    }
    kept.push(raw);
    if (line) lastMember = kept.length - 1;
    if (key) present.add(key.key);
  }
  const newLines = addLines(plan.add, present);
  if (removed === 0 && newLines.length === 0 && broken.size === 0) return { text, added: 0, removed: 0 };
  // a cut-off last line is gone; the file ends with a newline again
  if (section && section.end === doc.lines.length && broken.has(doc.lines.length - 1)) kept.push('');
  if (!section) return { text: insertSection(doc, name, newLines), added: newLines.length, removed };
  // New members go after the last member (or after the blank line under the header),
  // so comment lines that introduce the next section stay where they are.
  const at = lastMember >= 0 ? lastMember + 1 : kept[0] !== undefined && trimH(kept[0]) === '' ? 1 : 0;
  kept.splice(at, 0, ...newLines);
  const lines = [...doc.lines.slice(0, section.start), headerLine(name, section), ...kept, ...doc.lines.slice(section.end)];
  return { text: lines.join('\n'), added: newLines.length, removed };
}

/** Our header as both parsers accept it: the strict nftables parser wants upper-case `[IPSET`. */
function headerLine(name: string, section: Section): string {
  const comment = section.header.comment?.replace(/[\r\n]/g, ' ');
  return comment ? `[IPSET ${name}] # ${comment}` : `[IPSET ${name}]`;
}

/** Canonical, de-duplicated member lines for entries not already in the set, in address order. */
function addLines(add: SplicePlan['add'], present: Set<string>): string[] {
  const fresh = new Map<string, { cidr: Cidr; comment: string }>();
  for (const a of add) {
    const cidr = parseCidr(a.cidr);
    if (!present.has(cidr.key) && !fresh.has(cidr.key)) fresh.set(cidr.key, { cidr, comment: a.comment });
  }
  return [...fresh.values()].sort((a, b) => compareCidr(a.cidr, b.cidr)).map((e) => `${e.cidr.key} # ${e.comment}`);
}

/**
 * A missing section goes where Proxmox itself would put it: after OPTIONS, ALIASES and
 * IPSETs, before the first [RULES] or group (rules only see sets parsed before them).
 */
function insertSection(doc: FwDoc, name: string, members: string[]): string {
  const block = [`[IPSET ${name}] # ${SECTION_COMMENT}`, '', ...members];
  const lines = [...doc.lines];
  const user = doc.sections.find((s) => s.header.kind === 'rules' || s.header.kind === 'group');
  if (user) {
    let at = user.start;
    while (at > 0 && trimH(lines[at - 1]!).startsWith('#')) at--;
    const pad = at > 0 && trimH(lines[at - 1]!) !== '' ? [''] : [];
    lines.splice(at, 0, ...pad, ...block, '');
    return lines.join('\n');
  }
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0 && trimH(lines[lines.length - 1]!) !== '') lines.push('');
  return [...lines, ...block, ''].join('\n');
}
