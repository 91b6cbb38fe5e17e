/**
 * Pure text for the `file` driver. `txt` is one canonical CIDR per line, sorted, with no
 * comments: the lowest common denominator that pfSense / OPNsense URL table aliases, nginx
 * `include`-style scripts and `ipset restore` wrappers all read. `json` carries the ledger's
 * metadata per entry for consumers that want it. Neither holds a timestamp, so an unchanged
 * ban list is an unchanged file (a no-op run never rewrites it).
 */
import { parseCidr, parseCidrCached, compareCidr, CidrError, type Cidr } from '../net/cidr.js';
import type { DesiredEntry, Plan } from './types.js';

export type FileFormat = 'txt' | 'json';
export const FILE_FORMATS: readonly FileFormat[] = ['txt', 'json'];

export interface ParsedList {
  entries: DesiredEntry[];
  /** lines or content that are not a ban; they are dropped on the next write */
  problems: string[];
}

export function parseList(text: string, format: FileFormat): ParsedList {
  return format === 'txt' ? parseTxt(text) : parseJson(text);
}

function parseTxt(text: string): ParsedList {
  const out: ParsedList = { entries: [], problems: [] };
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/#.*/, '').trim();
    if (t === '') return;
    try {
      const c = parseCidr(t);
      out.entries.push({ cidr: c.key, family: c.family });
    } catch {
      out.problems.push(`line ${i + 1}: ${JSON.stringify(t)} is not a CIDR`);
    }
  });
  return out;
}

interface JsonBan {
  cidr: unknown;
  expires?: unknown;
  by?: unknown;
  jail?: unknown;
}

function parseJson(text: string): ParsedList {
  if (text.trim() === '') return { entries: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { entries: [], problems: ['not JSON'] };
  }
  const bans = (doc as { bans?: unknown } | null)?.bans;
  if (!Array.isArray(bans)) return { entries: [], problems: ['no "bans" array'] };
  const out: ParsedList = { entries: [], problems: [] };
  bans.forEach((b: JsonBan, i) => {
    try {
      const c = parseCidr(String(b?.cidr));
      const e: DesiredEntry = { cidr: c.key, family: c.family };
      for (const k of ['expires', 'by', 'jail'] as const) if (typeof b[k] === 'string') e[k] = b[k] as string;
      out.entries.push(e);
    } catch {
      out.problems.push(`bans[${i}]: ${JSON.stringify(b?.cidr)} is not a CIDR`);
    }
  });
  return out;
}

/**
 * Why `text` is not a list this driver wrote, or undefined when it is one (or is empty). The
 * driver replaces only such files: txt holds one CIDR per line and nothing else (a comment
 * is already a line fail2git never writes); json is an object with a `bans` array of
 * `{cidr, expires?, by?, jail?}`. The reason names lines by number and never quotes them:
 * the file may hold anything (a key, a password file).
 */
export function notOurList(text: string, format: FileFormat): string | undefined {
  if (text.trim() === '') return undefined;
  if (format === 'txt') {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i]!.trim();
      if (t !== '' && !isCidr(t)) return `line ${i + 1} is not a CIDR`;
    }
    return undefined;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'it is not JSON';
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'it is not a JSON object';
  const extra = Object.keys(doc).filter((k) => k !== 'bans');
  if (extra.length > 0) return `it has keys besides "bans" (${extra.length})`;
  const bans = (doc as { bans?: unknown }).bans;
  if (!Array.isArray(bans)) return 'it has no "bans" array';
  const bad = bans.findIndex((b: unknown) => {
    if (!b || typeof b !== 'object') return true;
    const o = b as Record<string, unknown>;
    return typeof o.cidr !== 'string' || !isCidr(o.cidr) || Object.keys(o).some((k) => !['cidr', 'expires', 'by', 'jail'].includes(k));
  });
  return bad >= 0 ? `bans[${bad}] is not an entry fail2git writes` : undefined;
}

function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

export function sortEntries(entries: DesiredEntry[]): DesiredEntry[] {
  const keyed = entries.map((e) => ({ e, c: parseCidr(e.cidr) }));
  // A list the driver wrote, plus additions beyond its end, is already in order: one linear check.
  const sorted = keyed.every((x, i) => i === 0 || compareCidr(keyed[i - 1]!.c, x.c) <= 0);
  if (!sorted) keyed.sort((a, b) => compareCidr(a.c, b.c));
  return keyed.map(({ e }) => e);
}

/** What the driver needs of a list's text, from one reading of it. */
export interface ReadList {
  /** why the text is not a list this driver wrote (notOurList); then nothing else is read */
  foreign?: string;
  /** its entries, each key once (where it first appears) */
  entries: DesiredEntry[];
  /** the text is exactly renderList(entries, format): nothing to repair */
  canonical: boolean;
}

/**
 * notOurList, parseList (each key once) and the comparison with renderList, in one pass
 * for `txt`: a 100k-line list is read three times per changing run (observe, apply,
 * verify), and three passes with a sort each were a large part of that run. Pure; same
 * answers as the three separate calls (test/controller/targets/file.test.ts).
 */
export function readList(text: string, format: FileFormat): ReadList {
  if (format === 'txt') return readTxt(text);
  const foreign = notOurList(text, format);
  if (foreign !== undefined) return { foreign, entries: [], canonical: false };
  const entries = uniqueEntries(parseList(text, format).entries);
  return { entries, canonical: renderList(entries, format) === text };
}

function uniqueEntries(entries: DesiredEntry[]): DesiredEntry[] {
  return [...new Map(entries.map((e) => [e.cidr, e])).values()];
}

function readTxt(text: string): ReadList {
  const entries: DesiredEntry[] = [];
  // exact: every line so far is a canonical key, in strictly increasing order (so no duplicates)
  let exact = true;
  let prev: Cidr | undefined;
  let line = 1;
  for (let pos = 0; pos <= text.length; line++) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    const raw = text.slice(pos, end);
    const last = end === text.length;
    pos = end + 1;
    const t = raw.trim();
    if (t === '') {
      if (!last || raw !== '') exact = false; // a blank line (the '' after the final newline is not one)
      continue;
    }
    // A line that is no CIDR (a comment is one) makes the file someone else's.
    const c = parseCidrCached(t);
    if (c instanceof CidrError) return { foreign: `line ${line} is not a CIDR`, entries: [], canonical: false };
    entries.push({ cidr: c.key, family: c.family });
    if (exact && (last || c.key !== raw || (prev !== undefined && compareCidr(prev, c) >= 0))) exact = false;
    prev = c;
  }
  if (exact) return { entries, canonical: true };
  // Anything else is decided exactly as renderList would write it.
  const unique = uniqueEntries(entries);
  return { entries: unique, canonical: renderList(unique, 'txt') === text };
}

export function renderList(entries: DesiredEntry[], format: FileFormat): string {
  return renderSorted(sortEntries(entries), format);
}

/**
 * renderList of `entries` changed by `plan` (its removals, then its additions merged over
 * what is there), for `entries` in canonical order with each key once (a list readList found
 * canonical). The kept entries stay where they are; only the added ones are parsed and sorted
 * in, where a full sort would parse all 100k. Same text as renderList (file.test.ts).
 */
export function renderChanged(entries: readonly DesiredEntry[], plan: Plan, format: FileFormat): string {
  const removed = new Set(plan.remove.map((e) => e.cidr));
  const added = new Map<string, DesiredEntry>();
  for (const e of plan.add) added.set(e.cidr, { ...added.get(e.cidr), ...e });
  const kept: DesiredEntry[] = [];
  for (const e of entries) {
    if (removed.has(e.cidr)) continue;
    const a = added.get(e.cidr);
    if (a === undefined) kept.push(e);
    else {
      kept.push({ ...e, ...a });
      added.delete(e.cidr);
    }
  }
  if (added.size === 0) return renderSorted(kept, format);
  const fresh = sortEntries([...added.values()]).map((e) => ({ e, c: parseCidr(e.cidr) }));
  const out: DesiredEntry[] = [];
  let from = 0;
  for (const { e, c } of fresh) {
    // the first kept entry after c (binary search; keys are distinct, so never equal)
    let lo = from;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareCidr(parseCidr(kept[mid]!.cidr), c) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = from; i < lo; i++) out.push(kept[i]!);
    out.push(e);
    from = lo;
  }
  for (let i = from; i < kept.length; i++) out.push(kept[i]!);
  return renderSorted(out, format);
}

function renderSorted(sorted: readonly DesiredEntry[], format: FileFormat): string {
  if (format === 'txt') return sorted.map((e) => `${e.cidr}\n`).join('');
  const bans = sorted.map((e) => {
    const o: Record<string, string> = { cidr: e.cidr };
    if (e.expires) o.expires = e.expires;
    if (e.by) o.by = e.by;
    if (e.jail) o.jail = e.jail;
    return o;
  });
  return `{"bans": [\n${bans.map((b) => `  ${JSON.stringify(b)}`).join(',\n')}\n]}\n`.replace('[\n\n]', '[]');
}
