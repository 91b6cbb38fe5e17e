/**
 * File-level checks that come before any parsing: size, encoding, line endings, line
 * length. A ledger file that fails one of these is refused whole with one problem; the
 * YAML parser never sees it (a 2 GiB file or a 50 MB line must not cost minutes).
 *
 * BOM and CRLF are refused, not silently accepted: the reconciler must read exactly the
 * bytes a reviewer saw, and `fail2git fmt` repairs both (see stripBomAndCrlf).
 */
import type { Problem } from './types.js';

export const MAX_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_LINE_CHARS = 65_536;

export type LedgerInput = string | Uint8Array;

export interface Checked {
  /** the decoded text, or null when the file is refused */
  text: string | null;
  problems: Problem[];
}

function problem(file: string, line: number, col: number, code: string, message: string): Problem {
  return { file, line, col, code, message };
}

/** 1-based line and column of a character offset (columns count UTF-16 units, like yaml). */
export function linePosOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Offset of the first byte that is not part of valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    // overlong 3/4-byte forms, surrogates and > U+10FFFF
    const c1 = bytes[i + 1] ?? 0;
    if ((b === 0xe0 && c1 < 0xa0) || (b === 0xed && c1 > 0x9f) || (b === 0xf0 && c1 < 0x90) || (b === 0xf4 && c1 > 0x8f)) return i;
    i += need + 1;
  }
  return -1;
}

// C0 controls except tab and newline, and DEL: never meaningful in a ledger, and the YAML
// parser accepts some of them silently.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const BOM_MESSAGE = 'file starts with a byte order mark (BOM); ledger files are plain UTF-8 (fail2git fmt removes it)';

function decodeBytes(bytes: Uint8Array, file: string): Checked {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { text: null, problems: [problem(file, 1, 1, 'E_BOM', BOM_MESSAGE)] };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), problems: [] };
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, at));
    const pos = linePosOf(before, before.length);
    const hex = (bytes[at] ?? 0).toString(16).padStart(2, '0');
    return { text: null, problems: [problem(file, pos.line, pos.col, 'E_ENCODING', `invalid UTF-8 (byte 0x${hex}); ledger files must be UTF-8`)] };
  }
}

function longLine(text: string): { line: number; length: number } | null {
  let line = 1;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end - start > MAX_LINE_CHARS) return { line, length: end - start };
    start = end + 1;
    line++;
  }
  return null;
}

/**
 * Decodes and checks one ledger file. Bytes are checked for UTF-8; text is checked for a
 * BOM, carriage returns and over-long lines.
 */
export function checkLedgerText(input: LedgerInput, file: string): Checked {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_FILE_BYTES) {
    return { text: null, problems: [problem(file, 1, 1, 'E_TOO_LARGE', 'file is larger than 64 MiB, the limit for ledger files (refusing to parse)')] };
  }
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const decoded = decodeBytes(input, file);
    if (decoded.text === null) return decoded;
    text = decoded.text;
  }
  if (text.charCodeAt(0) === 0xfeff) return { text: null, problems: [problem(file, 1, 1, 'E_BOM', BOM_MESSAGE)] };
  const cr = text.indexOf('\r');
  if (cr !== -1) {
    const pos = linePosOf(text, cr);
    const what = text[cr + 1] === '\n' ? 'CRLF line ending' : 'carriage return';
    return { text: null, problems: [problem(file, pos.line, pos.col, 'E_CRLF', `${what}; ledger files use LF line endings (fail2git fmt converts them)`)] };
  }
  const ctl = CONTROL.exec(text);
  if (ctl) {
    const pos = linePosOf(text, ctl.index);
    const hex = ctl[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { text: null, problems: [problem(file, pos.line, pos.col, 'E_CONTROL_CHAR', `control character U+${hex} is not allowed in ledger files`)] };
  }
  const long = longLine(text);
  if (long) {
    return { text: null, problems: [problem(file, long.line, MAX_LINE_CHARS + 1, 'E_LINE_TOO_LONG', `line is ${long.length} characters long; the limit is ${MAX_LINE_CHARS} (refusing to parse)`)] };
  }
  return { text, problems: [] };
}

/** What fmt repairs before parsing: a leading BOM and CRLF/CR line endings. */
export function stripBomAndCrlf(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** The comment block at the top of a file: leading lines that are comments or blank. */
export function headerOf(text: string): string {
  let end = 0;
  while (end < text.length) {
    const nl = text.indexOf('\n', end);
    const lineEnd = nl === -1 ? text.length : nl;
    const line = text.slice(end, lineEnd);
    if (line.trim() !== '' && !line.trimStart().startsWith('#')) break;
    if (nl === -1) return text;
    end = nl + 1;
  }
  return text.slice(0, end);
}
