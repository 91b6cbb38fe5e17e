/**
 * The full YAML path: any valid YAML a person may write, with `file:line:col` positions
 * from the parser's source ranges. Aliases are refused outright: ledger files are edited
 * by machines and reviewed by people, and an alias bomb must never be expanded.
 *
 * The `yaml` package costs about 3 s and 500 MB per MiB of small nodes, and recurses once
 * per nesting level. So before it sees a text, the text must be at most MAX_YAML_BYTES
 * (2 MiB: the worst shape at that size stays within 3× the time and memory of a canonical
 * BanList at the 64 MiB file limit, see BENCHMARKS.md) and nest at most MAX_YAML_DEPTH
 * levels, which one pass of its (non-recursive) lexer checks.
 */
import { Lexer, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import type { Problem } from './types.js';
import { linePosOf as linePosOfOffset } from './text.js';
import type { LocatedDoc, PathSeg, Pos } from './located.js';

export interface YamlParsed {
  docs: LocatedDoc[];
  problems: Problem[];
}

export const MAX_YAML_BYTES = 2 * 1024 * 1024;
export const MAX_YAML_DEPTH = 64;

export interface YamlLimits {
  /** largest text (UTF-8 bytes) handed to the parser; default MAX_YAML_BYTES */
  maxBytes?: number;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes % 2 ** 20 === 0 ? 0 : 1)} MiB`;
}

const CONTROL_TOKENS = new Set(['\x02', '\x18', '\x1f', '\ufeff']);

/**
 * Offset of the first place the text nests deeper than `max` collections, or -1. Flow
 * collections count by their brackets; block collections by the columns of their
 * indicators (`- `, `? `, `key:`), an indentless sequence under a key counting as a level.
 */
export function tooDeepAt(text: string, max = MAX_YAML_DEPTH): number {
  let offset = 0;
  let lineStart = 0;
  let flow = 0;
  let lastScalarCol = -1; // column of the last scalar started on this line (a key, if ':' follows)
  const block: { col: number; kind: 'seq' | 'map' }[] = [];
  const enter = (col: number, kind: 'seq' | 'map'): boolean => {
    for (;;) {
      const top = block[block.length - 1];
      if (!top || top.col < col) break;
      if (top.col === col && top.kind === 'map' && kind === 'seq') break; // indentless sequence
      block.pop();
      if (top.col === col) break;
    }
    block.push({ col, kind });
    return block.length + flow > max;
  };
  for (const tok of new Lexer().lex(text)) {
    if (CONTROL_TOKENS.has(tok)) {
      if (tok === '\x02') block.length = 0; // a new document
      continue;
    }
    const col = offset - lineStart;
    const start = offset;
    offset += tok.length;
    const nl = tok.lastIndexOf('\n');
    if (nl !== -1) {
      lineStart = start + nl + 1;
      lastScalarCol = -1;
    }
    if (tok === '[' || tok === '{') {
      flow++;
      if (flow + block.length > max) return start;
    } else if (tok === ']' || tok === '}') {
      flow = Math.max(0, flow - 1);
    } else if (flow > 0) {
      continue;
    } else if (tok === '-' || tok === '?') {
      if (enter(col, tok === '-' ? 'seq' : 'map')) return start;
    } else if (tok === ':') {
      const keyCol = lastScalarCol === -1 ? col : lastScalarCol;
      if (enter(keyCol, 'map')) return lineStart + keyCol;
    } else if (nl === -1 && tok.trim() !== '' && !tok.startsWith('#') && lastScalarCol === -1) {
      lastScalarCol = col;
    }
  }
  return -1;
}

// logLevel 'error': yaml's process warnings (e.g. on collection keys) must not leak to stderr.
const OPTIONS = { prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2', schema: 'core', logLevel: 'error' } as const;

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function nodeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

/** Child of a map or sequence by key/index, with the key node for maps. */
function child(node: unknown, seg: PathSeg): { key?: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
    return pair ? { key: pair.key, value: pair.value } : undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

function locator(doc: Document, lc: LineCounter): LocatedDoc['at'] {
  return (path, part = 'value') => {
    let node: unknown = doc.contents;
    let offset = nodeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const next = child(node, path[i]!);
      if (!next) break;
      const isLast = i === path.length - 1;
      const target = isLast && part === 'key' && next.key !== undefined ? next.key : next.value;
      const start = nodeStart(target) ?? nodeStart(next.key);
      if (start !== undefined) offset = start;
      node = next.value;
    }
    const pos = lc.linePos(offset);
    return { line: pos.line, col: pos.col } satisfies Pos;
  };
}

function firstAlias(doc: Document): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

/** Parses YAML text into located documents; syntax problems carry their positions. */
export function parseYaml(text: string, file: string, limits: YamlLimits = {}): YamlParsed {
  const lc = new LineCounter();
  const problems: Problem[] = [];
  const add = (offset: number, code: string, message: string): void => {
    const pos = lc.linePos(offset);
    problems.push({ file, line: pos.line, col: pos.col, code, message });
  };
  const docs: LocatedDoc[] = [];
  const maxBytes = limits.maxBytes ?? MAX_YAML_BYTES;
  const bytes = text.length > maxBytes / 3 ? Buffer.byteLength(text, 'utf8') : text.length;
  if (bytes > maxBytes) {
    problems.push({ file, line: 1, col: 1, code: 'E_YAML_TOO_LARGE', message: `file is ${mib(bytes)}; YAML files are read only up to ${mib(maxBytes)} (refusing to parse)` });
    return { docs, problems };
  }
  const deep = tooDeepAt(text);
  if (deep !== -1) {
    const pos = linePosOfOffset(text, deep);
    problems.push({ file, line: pos.line, col: pos.col, code: 'E_YAML_DEPTH', message: `nesting deeper than ${MAX_YAML_DEPTH} levels` });
    return { docs, problems };
  }
  for (const doc of parseAllDocuments(text, { ...OPTIONS, lineCounter: lc })) {
    for (const e of [...doc.errors, ...doc.warnings]) add(e.pos[0], 'E_YAML', firstLine(e.message));
    if (doc.errors.length > 0 || doc.warnings.length > 0) continue;
    const alias = firstAlias(doc);
    if (alias && isAlias(alias)) {
      add(nodeStart(alias) ?? 0, 'E_YAML_ALIAS', `YAML aliases (*${alias.source}) are not allowed in ledger files; write the value out`);
      continue;
    }
    if (doc.contents === null) continue; // an empty document (comments only)
    docs.push({ value: doc.toJS({ maxAliasCount: 0 }) as unknown, at: locator(doc, lc) });
  }
  return { docs, problems };
}

/**
 * The lenient reading of ledger text, for readers that take whatever parses and leave the
 * verdict to `fail2git validate` (review summaries, gc's grace, audit's old revisions): each
 * document that parses without error, as plain values. Never throws.
 */
export function lenientDocuments(text: string): unknown[] {
  try {
    return parseAllDocuments(text).flatMap((d) => ('errors' in d && d.errors.length === 0 ? [d.toJS() as unknown] : []));
  } catch {
    return [];
  }
}

/**
 * True when the text has comments beyond its top-of-file header (inline or between
 * entries). fmt rewrites such a file only where dropping them is the documented rule.
 */
export function hasCommentsBeyondHeader(text: string, header: string): boolean {
  const headerComments = header.split('\n').filter((l) => l.trimStart().startsWith('#')).length;
  let total = 0;
  const count = (c: string | null | undefined): void => {
    if (c) total += c.split('\n').length;
  };
  for (const doc of parseAllDocuments(text, OPTIONS)) {
    count(doc.commentBefore);
    count(doc.comment);
    visit(doc, {
      Node(_key, node) {
        count(node.comment);
        count(node.commentBefore);
      },
    });
  }
  return total > headerComments;
}
