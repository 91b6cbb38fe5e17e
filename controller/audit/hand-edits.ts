/**
 * Changes made to `bans/active.yaml` by commits without trailers (a person's pull request,
 * an edit on the server), read from `git diff-tree --stdin --root --cc -p` output. Only those
 * commits are diffed: trailers already describe every other commit. Pure.
 */
import type { Cidr } from '../net/cidr.js';
import type { BanEntry } from '../ledger/types.js';
import { matchingEntries, relationOf, type CidrCache, type Relation } from './entries.js';
import { parseEntryLine } from '../ledger/banlist-lines.js';

/** One CIDR's line before and after a commit (absent before = added, absent after = removed). */
export interface HandEdit {
  cidr: string;
  relation: Relation;
  before?: BanEntry;
  after?: BanEntry;
}

/** Record separator written by `--pretty=format:%x1e%H` before each commit's diff. */
export const DIFF_COMMIT_FORMAT = '--pretty=format:%x1e%H';

export interface Changed {
  added: string[];
  removed: string[];
}

const NOT_AN_ENTRY = /^\s*(#.*)?$|^(apiVersion|kind|bans):/;

/**
 * True when a commit changed lines that are neither flow-style entries nor the document's
 * frame: someone wrote block style or split an entry over lines. Line matching would miss
 * such an edit, so the caller compares the whole parsed file before and after instead.
 */
export function needsFullParse(changed: Changed): boolean {
  return [...changed.added, ...changed.removed].some((l) => !NOT_AN_ENTRY.test(l) && parseEntryLine(l) === null);
}

/**
 * Edits from whole parsed files: the entries after the commit against each parent's. For a
 * merge, an entry counts only when it differs from every parent (as with --cc).
 */
export function editsFromEntries(parents: readonly BanEntry[][], after: readonly BanEntry[], query: Cidr, cache: CidrCache): HandEdit[] {
  const relevant = (list: readonly BanEntry[]) => {
    const m = new Map<string, { entry: BanEntry; relation: Relation }>();
    for (const e of list) {
      const c = cache.get(e.cidr);
      const relation = c ? relationOf(query, c) : null;
      if (c && relation) m.set(c.key, { entry: e, relation });
    }
    return m;
  };
  const now = relevant(after);
  const before = parents.map(relevant);
  const same = (a?: BanEntry, b?: BanEntry) => JSON.stringify(a) === JSON.stringify(b);
  const keys = new Set([...now.keys(), ...before.flatMap((m) => [...m.keys()])]);
  const edits: HandEdit[] = [];
  for (const cidr of keys) {
    const next = now.get(cidr)?.entry;
    if (before.some((m) => same(m.get(cidr)?.entry, next))) continue; // as in some parent: not this commit's doing
    const prev = before[0]?.get(cidr)?.entry;
    const relation = (now.get(cidr) ?? before.map((m) => m.get(cidr)).find(Boolean))!.relation;
    edits.push({ cidr, relation, ...(prev ? { before: prev } : {}), ...(next ? { after: next } : {}) });
  }
  return edits;
}

/**
 * Lines each commit itself added and removed. For a merge (`--cc`), a line counts only when
 * it differs from every parent (all prefix columns `+`, or all `-`): what the merge brought
 * in from a branch is that branch's commits' doing, not the merge's.
 */
export function changedLines(diff: string): Map<string, Changed> {
  const byCommit = new Map<string, Changed>();
  let current: Changed | undefined;
  let width = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('\x1e')) {
      current = { added: [], removed: [] };
      byCommit.set(line.slice(1).trim(), current);
      width = 0;
      continue;
    }
    if (!current) continue;
    const hunk = /^(@+) /.exec(line);
    if (hunk) {
      width = hunk[1]!.length - 1;
      continue;
    }
    if (width === 0) continue;
    const prefix = line.slice(0, width);
    if (!/^[ +-]*$/.test(prefix)) {
      width = 0; // a header line: the hunk ended
      continue;
    }
    const text = line.slice(width);
    if (prefix === '+'.repeat(width)) current.added.push(text);
    else if (prefix === '-'.repeat(width)) current.removed.push(text);
  }
  return byCommit;
}

/**
 * Per commit, the hand edits that concern the queried address or range, read from the
 * changed lines. Commits listed in `skip` (see needsFullParse) are left to the caller.
 */
export function parseHandEdits(diff: string, query: Cidr, cache: CidrCache, skip: ReadonlySet<string> = new Set()): Map<string, HandEdit[]> {
  const result = new Map<string, HandEdit[]>();
  for (const [commit, { added, removed }] of changedLines(diff)) {
    if (skip.has(commit)) continue;
    const edits = new Map<string, HandEdit>();
    const edit = (cidr: string, relation: Relation): HandEdit => {
      let e = edits.get(cidr);
      if (!e) edits.set(cidr, (e = { cidr, relation }));
      return e;
    };
    for (const m of matchingEntries(removed, query, cache)) edit(m.cidr.key, m.relation).before = m.entry;
    for (const m of matchingEntries(added, query, cache)) edit(m.cidr.key, m.relation).after = m.entry;
    // A line rewritten without a change in meaning (reformatting) is not an event.
    const real = [...edits.values()].filter((e) => JSON.stringify(e.before) !== JSON.stringify(e.after));
    if (real.length > 0) result.set(commit, real);
  }
  return result;
}
