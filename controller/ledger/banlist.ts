/**
 * The BanList kind (`bans/active.yaml`): parse (fast path first, full YAML as fallback),
 * check, and write the canonical layout.
 */
import { specialAddress } from '../net/special.js';
import { compareCidr, parseCidr } from '../net/cidr.js';
import { API_VERSION, LEDGER_FILES, type BanEntry, type Problem } from './types.js';
import { checkLedgerText, headerOf } from './text.js';
import { parseBanListFast } from './banlist-lines.js';
import { MAX_YAML_BYTES, mib, parseYaml } from './yaml-parse.js';
import { schemaProblems } from './schema-check.js';
import { ProblemSink, DuplicateTracker, checkCidr, checkTime, isRecord } from './checks.js';
import { formatScalar, quote } from './scalars.js';
import type { LocatedDoc } from './located.js';
import { formatHeader } from './allowlist-format.js';

export interface ParsedBanList {
  bans: BanEntry[];
  header: string;
  problems: Problem[];
}

/** Canonical key order of an entry; also the order fmt writes. */
export const BAN_KEYS = ['cidr', 'expires', 'at', 'by', 'jail', 'reason', 'count'] as const;

export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

export interface BanListParseOptions {
  /**
   * Read a non-canonical file of any size (fmt, which rewrites it). Everything else reads
   * layouts other than the canonical one only up to MAX_YAML_BYTES: the full YAML parser's
   * time and memory grow ~50× faster per byte than the line parser's.
   */
  anySize?: boolean;
}

type Located = { doc?: LocatedDoc; problems: Problem[]; fast: boolean };

/** Parses the text into one located document: the fast path when it applies, else YAML. */
export function locateBanList(text: string, file: string, options: BanListParseOptions = {}): Located {
  const where = { line: 1 };
  const fast = parseBanListFast(text, where);
  if (fast) return { doc: fast, problems: [], fast: true };
  return locateBanListYaml(text, file, options, where.line);
}

/**
 * The YAML reading of a BanList in any layout: what locateBanList falls back to when the line
 * reader declines (`canonicalUntil`: the line where the canonical layout ended, for the message
 * about a large file). The property test holds it and the line reader to the same answers.
 */
export function locateBanListYaml(text: string, file: string, options: BanListParseOptions = {}, canonicalUntil = 1): Located {
  const where = { line: canonicalUntil };
  const bytes = text.length > MAX_YAML_BYTES / 3 ? Buffer.byteLength(text, 'utf8') : text.length;
  if (!options.anySize && bytes > MAX_YAML_BYTES) {
    const message = `file is ${mib(bytes)} and leaves the canonical layout here; other layouts are read only up to ${mib(MAX_YAML_BYTES)} (run fail2git fmt to rewrite it canonically)`;
    return { problems: [{ file, line: where.line, col: 1, code: 'E_NOT_CANONICAL', message }], fast: false };
  }
  const parsed = parseYaml(text, file, options.anySize ? { maxBytes: Infinity } : {});
  if (parsed.problems.length > 0) return { problems: parsed.problems, fast: false };
  if (parsed.docs.length !== 1) {
    const line = parsed.docs.length === 0 ? 1 : parsed.docs[1]!.at([]).line;
    const message = parsed.docs.length === 0
      ? 'file has no document; an empty ban list is written `bans: []`'
      : 'a BanList file holds exactly one YAML document';
    return { problems: [{ file, line, col: 1, code: 'E_DOCUMENTS', message }], fast: false };
  }
  return { doc: parsed.docs[0]!, problems: [], fast: false };
}

function entryOf(sink: ProblemSink, dups: DuplicateTracker, raw: Record<string, unknown>, i: number): BanEntry | undefined {
  const base = ['bans', i] as const;
  const cidr = checkCidr(sink, base, 'cidr', raw.cidr);
  const expires = checkTime(sink, base, 'expires', raw.expires);
  const at = checkTime(sink, base, 'at', raw.at);
  if (expires && at && expires.ms < at.ms) {
    sink.add([...base, 'expires'], 'E_EXPIRES_BEFORE_AT', `expires ${expires.text} is before at ${at.text}`);
  }
  if (!cidr) return undefined;
  const special = specialAddress(cidr);
  if (special) sink.add([...base, 'cidr'], 'E_CIDR_SPECIAL', special);
  dups.checkNetwork(cidr, i);
  // A canonical entry (the usual case, 100k per load) is already what would be built: keep it.
  if (isCanonicalEntry(raw, cidr.key, expires?.text, at?.text)) return raw as unknown as BanEntry;
  const entry: BanEntry = { cidr: cidr.key };
  if (expires) entry.expires = expires.text;
  if (at) entry.at = at.text;
  for (const k of ['by', 'jail', 'reason'] as const) if (typeof raw[k] === 'string') entry[k] = raw[k];
  if (typeof raw.count === 'number') entry.count = raw.count;
  return entry;
}

/**
 * Whether `raw` holds exactly the entry entryOf would build from it: canonical cidr and times,
 * string texts, a numeric count, nothing else, keys in BAN_KEYS order.
 */
function isCanonicalEntry(raw: Record<string, unknown>, cidr: string, expires: string | undefined, at: string | undefined): boolean {
  if (raw.cidr !== cidr || raw.expires !== expires || raw.at !== at) return false;
  let order = 0;
  for (const k in raw) {
    const i = BAN_KEYS.indexOf(k as (typeof BAN_KEYS)[number], order);
    if (i < 0) return false;
    order = i + 1;
    const v = raw[k];
    if (k === 'count' ? typeof v !== 'number' : typeof v !== 'string') return false;
  }
  return true;
}

/** Schema and per-file semantic checks of a located BanList; returns canonical entries. */
export function checkBanList(doc: LocatedDoc, file: string): { bans: BanEntry[]; problems: Problem[]; indexes: number[] } {
  const sink = new ProblemSink(file, doc);
  for (const p of schemaProblems('BanList', doc, file)) sink.problems.push(p); // (may be 100,000s: no spread)
  const bans: BanEntry[] = [];
  // indexes[k] = position in the file's list of bans[k] (entries with bad CIDRs are left out)
  const indexes: number[] = [];
  const list = isRecord(doc.value) ? doc.value.bans : undefined;
  if (Array.isArray(list)) {
    const dups = new DuplicateTracker(sink, (i) => ['bans', i, 'cidr']);
    list.forEach((raw, i) => {
      if (!isRecord(raw)) return;
      const entry = entryOf(sink, dups, raw, i);
      if (entry) {
        bans.push(entry);
        indexes.push(i);
      }
    });
  }
  return { bans, problems: sink.problems, indexes };
}

/**
 * Parses `bans/active.yaml`. `header` is the comment block at the top, which fmt and
 * every writer keep. Entries come back canonical (CIDR keys, UTC times) in file order.
 */
export function parseBanList(text: string, file: string = LEDGER_FILES.bans, options: BanListParseOptions = {}): ParsedBanList {
  const checked = checkLedgerText(text, file);
  if (checked.text === null) return { bans: [], header: '', problems: checked.problems };
  const header = headerOf(checked.text);
  const located = locateBanList(checked.text, file, options);
  if (!located.doc) return { bans: [], header, problems: sortProblems(located.problems) };
  const { bans, problems } = checkBanList(located.doc, file);
  return { bans, header, problems: sortProblems(problems) };
}

function formatEntry(e: BanEntry): string {
  const parts: string[] = [];
  for (const k of BAN_KEYS) {
    const v = e[k];
    if (v === undefined) continue;
    // IPv6 is always quoted: `::` and `:` are legal in a plain scalar, but people misread them.
    const text = k === 'cidr' && typeof v === 'string' && v.includes(':') ? quote(v) : formatScalar(v);
    parts.push(`${k}: ${text}`);
  }
  return `  - {${parts.join(', ')}}`;
}

/**
 * The canonical layout: header, apiVersion, kind, `bans:` and one flow mapping per line,
 * sorted by address (IPv4 before IPv6, broader first). Round-trips through parseBanList.
 */
export function formatBanList(bans: readonly BanEntry[], header = ''): string {
  const sorted = bans.map((b) => ({ b, c: parseCidr(b.cidr) })).sort((x, y) => compareCidr(x.c, y.c));
  const lines = [`apiVersion: ${API_VERSION}`, 'kind: BanList'];
  if (sorted.length === 0) lines.push('bans: []');
  else lines.push('bans:', ...sorted.map(({ b, c }) => formatEntry({ ...b, cidr: c.key })));
  return formatHeader(header) + lines.join('\n') + '\n';
}
