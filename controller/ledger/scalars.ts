/**
 * How the canonical layout writes one scalar, and the exact inverse the fast path uses
 * to read it back. Plain (unquoted) only when YAML's core schema is certain to read the
 * text back as the same string; otherwise a JSON-compatible double-quoted string, which
 * is also valid YAML.
 */

// Texts the YAML 1.2 core schema resolves to null, booleans or numbers.
// (One alternation, so the hot path runs one regex per token.)
const NON_STRING = new RegExp([
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/,
  /^[-+]?[0-9]+$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/,
].map((re) => `(?:${re.source})`).join('|'));

// Words of safe characters separated by single spaces; no flow indicators (,[]{}),
// no comment marker, no quotes, nothing that starts an indicator.
const PLAIN = /^[A-Za-z0-9_.\/(][A-Za-z0-9_.\/()+@=:~-]*(?: [A-Za-z0-9_.\/()+@=:~-]+)*$/;

const charTable = (re: RegExp): readonly boolean[] => Array.from({ length: 128 }, (_, c) => re.test(String.fromCharCode(c)));
// PLAIN's two character classes, and the first characters NON_STRING can match at all.
const PLAIN_FIRST = charTable(/[A-Za-z0-9_.\/(]/);
const PLAIN_REST = charTable(/[A-Za-z0-9_.\/()+@=:~-]/);
const NON_STRING_FIRST = charTable(/[~NnTtFf0-9+\-.]/);

/**
 * True when `text` may be written unquoted in a flow mapping and reads back unchanged:
 * PLAIN matches, no `: ` and no final `:`, and NON_STRING does not match. A 100k-entry
 * ledger asks this ~700k times per parse, so PLAIN is one scan by hand, and NON_STRING runs
 * only when the scan cannot rule it out (it never matches a space, `:`, `/` or two dots, nor
 * a text starting outside NON_STRING_FIRST). Same answers as the regexes (scalars.test.ts).
 */
export function isPlainSafe(text: string): boolean {
  const n = text.length;
  if (n === 0) return false;
  let c = text.charCodeAt(0);
  if (c >= 128 || !PLAIN_FIRST[c]) return false;
  let mayBeNonString = NON_STRING_FIRST[c] === true;
  let dots = c === 0x2e ? 1 : 0;
  for (let i = 1; i < n; i++) {
    c = text.charCodeAt(i);
    if (c === 0x20) {
      // one space between words: never two, never last, never after a `:`
      const next = text.charCodeAt(i + 1);
      if (!(next < 128 && PLAIN_REST[next]) || text.charCodeAt(i - 1) === 0x3a) return false;
      mayBeNonString = false;
      continue;
    }
    if (c >= 128 || !PLAIN_REST[c]) return false;
    if (c === 0x3a || c === 0x2f || (c === 0x2e && ++dots > 1)) mayBeNonString = false;
  }
  if (text.charCodeAt(n - 1) === 0x3a) return false;
  return !mayBeNonString || !NON_STRING.test(text);
}

/** The definition isPlainSafe implements, as regexes: the reference its test compares with. */
export function isPlainSafeReference(text: string): boolean {
  if (!PLAIN.test(text)) return false;
  if (text.endsWith(':') || text.includes(': ')) return false;
  return !NON_STRING.test(text);
}

// Characters YAML does not allow raw in a double-quoted scalar, or that editors mangle.
// eslint-disable-next-line no-control-regex
const ESCAPE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A double-quoted scalar that is both valid JSON and valid YAML with the same value. */
export function quote(text: string): string {
  return JSON.stringify(text).replace(ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatScalar(value: string | number): string {
  if (typeof value === 'number') return String(value);
  return isPlainSafe(value) ? value : quote(value);
}

const SAFE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Reads a double-quoted scalar starting at `start` (the opening quote). Returns the
 * value and the offset after the closing quote, or null for anything outside the subset
 * quote() writes (the caller then falls back to the full YAML parser).
 */
export function readQuoted(line: string, start: number): { value: string; end: number } | null {
  for (let i = start + 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) {
      const raw = line.slice(start, i + 1);
      ESCAPE.lastIndex = 0;
      if (ESCAPE.test(raw)) return null;
      return { value: JSON.parse(raw) as string, end: i + 1 };
    }
    if (c === 0x5c) {
      const e = line[i + 1];
      if (e === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(line.slice(i + 2, i + 6))) return null;
        i += 5;
      } else if (e !== undefined && SAFE_ESCAPES.has(e)) {
        i += 1;
      } else {
        return null;
      }
    }
  }
  return null;
}
