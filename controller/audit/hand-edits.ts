/**
 * Changes made to `bans/active.yaml` by commits without trailers (a person's pull request,
 * an edit on the server), read from `git diff-tree --stdin --root --cc -p` output. Only those
 * commits are diffed: trailers already describe every other commit. Pure.
 */
import type { Cidr } from '../cidr.js';
import type { BanEntry } from '../ledger/types.js';
import { matchingEntries, type CidrCache, type Relation } from './entries.js';

/** One CIDR's line before and after a commit (absent before = added, absent after = removed). */
export interface HandEdit {
  cidr: string;
  relation: Relation;
  before?: BanEntry;
  after?: BanEntry;
}

/** Record separator written by `--pretty=format:%x1e%H` before each commit's diff. */
export const DIFF_COMMIT_FORMAT = '--pretty=format:%x1e%H';

interface Changed {
  added: string[];
  removed: string[];
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

/** Per commit, the hand edits that concern the queried address or range. */
export function parseHandEdits(diff: string, query: Cidr, cache: CidrCache): Map<string, HandEdit[]> {
  const result = new Map<string, HandEdit[]>();
  for (const [commit, { added, removed }] of changedLines(diff)) {
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
