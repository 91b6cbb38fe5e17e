/**
 * The fast path: a strict line parser for exactly the layout formatBanList writes.
 * The `yaml` package needs ~10 s for 100,000 flow mappings; this reads them in tens of
 * milliseconds. It recognises only what it is certain about and returns null for
 * anything else, and the caller then parses the whole file with the full YAML parser.
 * A property test holds both paths to identical values, positions and problems.
 */
import { isPlainSafe, readQuoted } from './scalars.js';
import type { LocatedDoc, PathSeg, Pos } from './located.js';

const ENTRY_PREFIX = '  - {';
const KEY = /[A-Za-z_][A-Za-z0-9_]*/y;
const INT = /^(?:0|[1-9][0-9]{0,14})$/;

interface Field {
  key: string;
  keyCol: number;
  valueCol: number;
  value: string | number;
}

/** Reads one `  - {k: v, k: v}` line; null if it is not exactly canonical-shaped. */
function readEntry(line: string): Field[] | null {
  if (!line.startsWith(ENTRY_PREFIX) || !line.endsWith('}')) return null;
  const fields: Field[] = [];
  let i = ENTRY_PREFIX.length;
  for (;;) {
    KEY.lastIndex = i;
    const k = KEY.exec(line);
    if (!k || line[i + k[0].length] !== ':' || line[i + k[0].length + 1] !== ' ') return null;
    const key = k[0];
    if (!isPlainSafe(key)) return null; // e.g. `true:` or `null:` are not string keys in YAML
    const keyCol = i + 1;
    i += key.length + 2;
    const valueCol = i + 1;
    let value: string | number;
    if (line[i] === '"') {
      const q = readQuoted(line, i);
      if (!q) return null;
      value = q.value;
      i = q.end;
    } else {
      let end = line.indexOf(',', i);
      if (end === -1) end = line.length - 1;
      const token = line.slice(i, end);
      if (INT.test(token)) value = Number(token);
      else if (isPlainSafe(token)) value = token;
      else return null;
      i = end;
    }
    if (fields.some((f) => f.key === key)) return null; // the YAML parser reports duplicates
    fields.push({ key, keyCol, valueCol, value });
    if (i === line.length - 1 && line[i] === '}') return fields;
    if (line[i] !== ',' || line[i + 1] !== ' ') return null;
    i += 2;
  }
}

function isHeaderLine(line: string): boolean {
  return line === '' || line.startsWith('#');
}

/**
 * Parses a BanList in canonical layout, or returns null. `lines` must be the file split
 * on '\n' (the last element is '' when the file ends with a newline, as it must).
 */
export function parseBanListFast(text: string): LocatedDoc | null {
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') return null;
  let h = 0;
  while (h < lines.length - 1 && isHeaderLine(lines[h]!)) h++;
  if (lines[h] !== 'apiVersion: fail2git/v1' || lines[h + 1] !== 'kind: BanList') return null;
  const bansLine = lines[h + 2];
  const first = h + 3;
  const bans: Record<string, string | number>[] = [];
  const entries: Field[][] = [];
  if (bansLine === 'bans: []') {
    if (lines.length !== first + 1) return null;
  } else if (bansLine === 'bans:') {
    if (lines.length < first + 2) return null; // `bans:` with no entries is null, not a list
    for (let n = first; n < lines.length - 1; n++) {
      const fields = readEntry(lines[n]!);
      if (!fields) return null;
      const entry: Record<string, string | number> = {};
      for (const f of fields) entry[f.key] = f.value;
      bans.push(entry);
      entries.push(fields);
    }
  } else {
    return null;
  }
  const value = { apiVersion: 'fail2git/v1', kind: 'BanList', bans };
  // 1-based line numbers: the apiVersion line is h + 1.
  const at = (path: readonly PathSeg[], part: 'key' | 'value' = 'value'): Pos => {
    const [top, index, key] = path;
    if (top === undefined) return { line: h + 1, col: 1 };
    const topLine = top === 'apiVersion' ? h + 1 : top === 'kind' ? h + 2 : top === 'bans' ? h + 3 : undefined;
    if (topLine === undefined) return { line: h + 1, col: 1 };
    if (part === 'key' && path.length === 1) return { line: topLine, col: 1 };
    if (top !== 'bans') return { line: topLine, col: String(top).length + 3 };
    const fields = typeof index === 'number' ? entries[index] : undefined;
    if (fields === undefined) return entries.length === 0 ? { line: topLine, col: 7 } : { line: first + 1, col: 3 };
    const line = first + 1 + (index as number);
    const field = typeof key === 'string' && path.length === 3 ? fields.find((f) => f.key === key) : undefined;
    if (!field) return { line, col: 5 };
    return { line, col: part === 'key' ? field.keyCol : field.valueCol };
  };
  return { value, at };
}
