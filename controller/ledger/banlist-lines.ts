/**
 * The fast path: a strict line parser for exactly the layout formatBanList writes.
 * The `yaml` package needs ~10 s for 100,000 flow mappings; this reads them in tens of
 * milliseconds. It recognises only what it is certain about and returns null for
 * anything else, and the caller then parses the whole file with the full YAML parser.
 * A property test holds both paths to identical values, positions and problems.
 */
import { isPlainSafe, readQuoted } from './scalars.js';
import { lenientDocuments } from './yaml-parse.js';
import type { LocatedDoc } from './located.js';
import type { BanEntry } from './types.js';

const ENTRY_PREFIX = '  - {';
/** What /^(?:0|[1-9][0-9]{0,14})$/ matches, by hand: a cidr and two times per line start with a digit too. */
function isInt(token: string): boolean {
  const n = token.length;
  if (n === 0 || n > 15 || (token.charCodeAt(0) === 0x30 && n > 1)) return false;
  for (let i = 0; i < n; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

const isKeyChar = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;

/**
 * The key at `i`: what /[A-Za-z_][A-Za-z0-9_]*\/y matches there ('' for none). The keys a
 * canonical entry uses come back as the constants below, plain-safe by construction (not
 * `true`, `null` or a number): no slice, no check per line.
 */
function keyAt(line: string, i: number): { key: string; known: boolean } {
  const c = line.charCodeAt(i);
  const known = c === 0x63 ? (line.startsWith('cidr', i) ? 'cidr' : line.startsWith('count', i) ? 'count' : undefined)
    : c === 0x65 ? (line.startsWith('expires', i) ? 'expires' : undefined)
    : c === 0x61 ? (line.startsWith('at', i) ? 'at' : undefined)
    : c === 0x62 ? (line.startsWith('by', i) ? 'by' : undefined)
    : c === 0x6a ? (line.startsWith('jail', i) ? 'jail' : undefined)
    : c === 0x72 ? (line.startsWith('reason', i) ? 'reason' : undefined)
    : undefined;
  if (known !== undefined && !isKeyChar(line.charCodeAt(i + known.length))) return { key: known, known: true };
  if (!isKeyChar(c) || (c >= 0x30 && c <= 0x39)) return { key: '', known: false };
  let end = i + 1;
  while (isKeyChar(line.charCodeAt(end))) end++;
  return { key: line.slice(i, end), known: false };
}

/** Where one key and its value sit on a line (1-based columns); computed only on demand. */
interface Field {
  key: string;
  keyCol: number;
  valueCol: number;
}

/**
 * Reads one `  - {k: v, k: v}` line into `entry`; false if it is not exactly
 * canonical-shaped. Positions are collected only when `fields` is given (for problems):
 * a 100k-entry load must not allocate per-field objects it never looks at.
 */
function readEntry(line: string, entry: Record<string, string | number>, fields?: Field[], quoted?: { seen: boolean }): boolean {
  if (!line.startsWith(ENTRY_PREFIX) || line.charCodeAt(line.length - 1) !== 0x7d) return false;
  let i = ENTRY_PREFIX.length;
  for (;;) {
    const { key, known } = keyAt(line, i);
    if (key === '') return false;
    if (line.charCodeAt(i + key.length) !== 0x3a || line.charCodeAt(i + key.length + 1) !== 0x20) return false;
    if (!known && !isPlainSafe(key)) return false; // e.g. `true:` or `null:` are not string keys in YAML
    if (Object.hasOwn(entry, key)) return false; // the YAML parser reports duplicate keys
    const keyCol = i + 1;
    i += key.length + 2;
    const valueCol = i + 1;
    if (line.charCodeAt(i) === 0x22) {
      const q = readQuoted(line, i);
      if (!q) return false;
      entry[key] = q.value;
      if (quoted) quoted.seen = true;
      i = q.end;
    } else {
      let end = line.indexOf(',', i);
      if (end === -1) end = line.length - 1;
      const token = line.slice(i, end);
      if (isInt(token)) entry[key] = Number(token);
      else if (isPlainSafe(token)) entry[key] = token;
      else return false;
      i = end;
    }
    fields?.push({ key, keyCol, valueCol });
    if (i === line.length - 1) return true; // at the closing brace
    if (line.charCodeAt(i) !== 0x2c || line.charCodeAt(i + 1) !== 0x20) return false;
    i += 2;
  }
}

function isHeaderLine(line: string): boolean {
  return line === '' || line.startsWith('#');
}

/**
 * Positions in a canonical file, matching what the YAML parser reports for the same
 * text: `h` = index of the apiVersion line, `first` = index of the first entry line.
 */
function locator(lineAt: (index: number) => string, h: number, first: number, count: number): LocatedDoc['at'] {
  return (path, part = 'value') => {
    const [top, index, key] = path;
    const topLine = top === 'apiVersion' ? h + 1 : top === 'kind' ? h + 2 : top === 'bans' ? h + 3 : undefined;
    if (topLine === undefined) return { line: h + 1, col: 1 }; // the document (or a field it lacks)
    if (part === 'key' && path.length === 1) return { line: topLine, col: 1 };
    if (top !== 'bans') return { line: topLine, col: String(top).length + 3 };
    if (typeof index !== 'number' || index < 0 || index >= count) {
      return count === 0 ? { line: topLine, col: 7 } : { line: first + 1, col: 3 }; // `[]`, or the first `-`
    }
    const line = first + 1 + index;
    const fields: Field[] = [];
    readEntry(lineAt(line - 1), {}, fields);
    const field = typeof key === 'string' && path.length === 3 ? fields.find((f) => f.key === key) : undefined;
    if (!field) return { line, col: 5 }; // the entry's `{`
    return { line, col: part === 'key' ? field.keyCol : field.valueCol };
  };
}

/**
 * Parses a BanList in canonical layout (ending in a newline), or returns null; then
 * `where.line` (when given) is the 1-based line where the text leaves the layout.
 */
export function parseBanListFast(text: string, where?: { line: number }): LocatedDoc | null {
  // Lines are cut as the reader reaches them: a 50 MB file that leaves the layout at its
  // fifth line is given up at once, not after splitting it whole. Only where each line
  // starts is kept (for positions of problems), not 100k line strings.
  const starts: number[] = [];
  let pos = 0;
  const next = (): string | undefined => {
    if (pos > text.length) return undefined;
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    starts.push(pos);
    const line = text.slice(pos, end);
    pos = end + 1;
    return line;
  };
  const lineAt = (index: number): string => {
    const start = starts[index]!;
    const end = text.indexOf('\n', start);
    return text.slice(start, end === -1 ? text.length : end);
  };
  const isLast = (): boolean => pos > text.length;
  const miss = (index: number): null => {
    if (where) where.line = index + 1;
    return null;
  };
  if (!text.endsWith('\n')) {
    let count = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
    return miss(count);
  }
  let line = next();
  while (!isLast() && isHeaderLine(line!)) line = next();
  const h = starts.length - 1;
  if (line !== 'apiVersion: fail2git/v1') return miss(h);
  if (next() !== 'kind: BanList') return miss(h + 1);
  const bansLine = next();
  const first = h + 3;
  const bans: Record<string, string | number>[] = [];
  const quoted = { seen: false };
  if (bansLine === 'bans: []') {
    if (next() !== '' || !isLast()) return miss(first);
  } else if (bansLine === 'bans:') {
    // `bans:` with no entries is null, not a list
    for (let n = first; ; n++) {
      const entryLine = next()!;
      if (isLast()) {
        if (n === first) return miss(first);
        break; // the final '' after the last newline
      }
      const entry: Record<string, string | number> = {};
      if (!readEntry(entryLine, entry, undefined, quoted)) return miss(n);
      bans.push(entry);
    }
  } else {
    return miss(h + 2);
  }
  // Plain tokens hold only printable ASCII (isPlainSafe's characters); a quoted one may hold an escape.
  return { value: { apiVersion: 'fail2git/v1', kind: 'BanList', bans }, at: locator(lineAt, h, first, bans.length), ...(!quoted.seen && { printable: true as const }) };
}

const ENTRY_LINE = /^\s*-\s*(\{.*\})\s*(?:#.*)?$/;
const ENTRY_START = /^\s*-\s*\{/;
// `  - {cidr: X, expires: T, ...}` in canonical key order; cidr and expires may be quoted.
const CIDR_EXPIRES = /^\s*-\s*\{\s*cidr:\s*(?:"([^"]+)"|'([^']+)'|([^,\s}]+))\s*,\s*expires:\s*(?:"([^"]+)"|'([^']+)'|([^,\s}]+))\s*[,}]/;

/** Whether a line starts like a flow-style entry (`- {`), whatever follows. */
export function looksLikeEntryLine(line: string): boolean {
  return ENTRY_START.test(line);
}

/**
 * The cidr and expiry of an entry line in canonical key order (`expires` right after
 * `cidr`), read by one regex and nothing else: gc's pass over 100k lines. Null for any
 * other line; parseEntryLine reads those exactly.
 */
export function readCidrExpires(line: string): { cidr: string; expires: string } | null {
  const m = CIDR_EXPIRES.exec(line);
  return m ? { cidr: m[1] ?? m[2] ?? m[3]!, expires: m[4] ?? m[5] ?? m[6]! } : null;
}

/**
 * The entry on one ledger line, when that line is one flow-style ban entry; else null. The
 * one reader of a single line (audit's history and hand edits, gc's plan): the canonical line
 * reader above first, YAML for any other spelling of a one-line entry. Lenient: no checks.
 */
export function parseEntryLine(line: string): BanEntry | null {
  const canonical: Record<string, string | number> = {};
  if (readEntry(line, canonical)) return typeof canonical.cidr === 'string' ? toBanEntry(canonical) : null;
  const m = ENTRY_LINE.exec(line);
  if (!m) return null;
  const [value] = lenientDocuments(m[1]!);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const raw = value as Record<string, unknown>;
  return typeof raw.cidr === 'string' ? toBanEntry(raw) : null;
}

function toBanEntry(raw: Record<string, unknown>): BanEntry {
  const entry: BanEntry = { cidr: String(raw.cidr) };
  // YAML may read unquoted times as strings or (with other schemas) dates; keep text.
  const text = (v: unknown): string | undefined =>
    v === undefined || v === null ? undefined : v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(v);
  const expires = text(raw.expires);
  if (expires !== undefined) entry.expires = expires;
  const at = text(raw.at);
  if (at !== undefined) entry.at = at;
  for (const k of ['by', 'jail', 'reason'] as const) {
    const v = text(raw[k]);
    if (v !== undefined) entry[k] = v;
  }
  if (typeof raw.count === 'number') entry.count = raw.count;
  return entry;
}
