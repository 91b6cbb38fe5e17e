/**
 * The full YAML path: any valid YAML a person may write, with `file:line:col` positions
 * from the parser's source ranges. Aliases are refused outright: ledger files are edited
 * by machines and reviewed by people, and an alias bomb must never be expanded.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import type { Problem } from './types.js';
import type { LocatedDoc, PathSeg, Pos } from './located.js';

export interface YamlParsed {
  docs: LocatedDoc[];
  problems: Problem[];
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
export function parseYaml(text: string, file: string): YamlParsed {
  const lc = new LineCounter();
  const problems: Problem[] = [];
  const add = (offset: number, code: string, message: string): void => {
    const pos = lc.linePos(offset);
    problems.push({ file, line: pos.line, col: pos.col, code, message });
  };
  const docs: LocatedDoc[] = [];
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
