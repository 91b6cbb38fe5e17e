/**
 * Reads a ledger's history for `audit`: one `git log` pass for every commit's trailers, one
 * `git diff-tree` pass for only the commits that have none, and a `git grep` over only the
 * commits whose trailers name the audited address (for TTL and count). Deepens a shallow
 * clone first, or says which part of history is missing.
 */
import { existsSync } from 'node:fs';
import { execRunner, ExecError } from '../lib/exec.js';
import { InputError, errorMessage } from '../lib/errors.js';
import { parseCidr, CidrError, type Cidr } from '../net/cidr.js';
import { formatTime } from '../lib/duration.js';
import { LEDGER_FILES, type BanEntry } from '../ledger/types.js';
import { LOG_FORMAT, parseLog, type LoggedCommit } from './log.js';
import { DIFF_COMMIT_FORMAT, changedLines, editsFromEntries, needsFullParse, parseHandEdits, type HandEdit } from './hand-edits.js';
import { CidrCache, matchingEntries, type Relation } from './entries.js';
import { buildTimeline, lookupKey, type AuditEvent, type EntryLookup } from './timeline.js';

export interface AuditOptions {
  /** a git work tree or bare repository holding the ledger */
  repoDir: string;
  /** the commit to audit up to; default HEAD */
  rev?: string;
  /** only events at or after this time are reported (history before it is still read) */
  since?: Date;
  /** fetch missing history of a shallow clone (default true) */
  deepen?: boolean;
}

export interface CurrentBan {
  cidr: string;
  relation: Relation;
  entry: BanEntry;
}

export interface AuditReport {
  query: string;
  /** the commit audited */
  rev: string;
  events: AuditEvent[];
  /** bans in the ledger at `rev` that are, cover, or lie within the query */
  current: CurrentBan[];
  /** time of the oldest commit read */
  historyFrom?: string;
  /** set when part of history could not be read (shallow clone that could not be deepened) */
  historyMissing?: string;
  commitsRead: number;
}

const BANS = LEDGER_FILES.bans;

function git(repoDir: string, args: string[], input?: string): Promise<string> {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  return execRunner('git', args, { cwd: repoDir, env, timeoutMs: 300_000, ...(input === undefined ? {} : { input }) }).then((r) => r.stdout);
}

export async function auditAddress(queryText: string, opts: AuditOptions): Promise<AuditReport> {
  const query = parseQuery(queryText);
  const rev = await resolveRev(opts.repoDir, opts.rev ?? 'HEAD');
  const historyMissing = await ensureHistory(opts.repoDir, opts);
  const commits = parseLog(await git(opts.repoDir, ['log', '--date-order', '--reverse', `--format=${LOG_FORMAT}`, rev]));
  const cache = new CidrCache();
  const handEdits = await readHandEdits(opts.repoDir, commits, query, cache);
  const lookup = await lookupEntries(opts.repoDir, commits, query, cache);
  let events = buildTimeline(commits, query, handEdits, lookup, cache);
  if (opts.since) {
    const since = opts.since.getTime();
    events = events.filter((e) => Date.parse(e.time) >= since);
  }
  const report: AuditReport = {
    query: query.key,
    rev,
    events,
    current: await currentBans(opts.repoDir, rev, query, cache),
    commitsRead: commits.length,
  };
  if (commits[0]) report.historyFrom = formatTime(new Date(commits[0].time));
  if (historyMissing) report.historyMissing = historyMissing;
  return report;
}

function parseQuery(text: string): Cidr {
  try {
    return parseCidr(text);
  } catch (err) {
    if (err instanceof CidrError) throw new InputError('E_AUDIT_QUERY', `audit: ${err.message}`);
    throw err;
  }
}

async function resolveRev(repoDir: string, rev: string): Promise<string> {
  if (!existsSync(repoDir)) throw new InputError('E_AUDIT_REPO', `audit: ${repoDir}: no such directory`);
  try {
    return (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
  } catch (err) {
    const why = err instanceof ExecError && err.exitCode === 1 ? `no commit "${rev}"` : errorMessage(err);
    throw new InputError('E_AUDIT_REPO', `audit: ${repoDir}: not a ledger repository with history (${why})`);
  }
}

/** Deepens a shallow clone; returns why history is incomplete, or undefined when it is whole. */
async function ensureHistory(repoDir: string, opts: AuditOptions): Promise<string | undefined> {
  const shallow = async () => (await git(repoDir, ['rev-parse', '--is-shallow-repository'])).trim() === 'true';
  if (!(await shallow())) return undefined;
  let why = 'deepening disabled';
  if (opts.deepen !== false) {
    const args = opts.since ? ['fetch', '-q', `--shallow-since=${formatTime(opts.since)}`] : ['fetch', '-q', '--unshallow'];
    try {
      await git(repoDir, args);
      if (!(await shallow()) || opts.since) return undefined;
      why = 'still shallow after fetch';
    } catch (err) {
      why = `fetching it failed: ${errorMessage(err)}`;
    }
  }
  const boundary = (await git(repoDir, ['log', '-1', '--reverse', '--format=%cI', '--max-parents=0', 'HEAD']).catch(() => '')).trim();
  return `history before ${boundary || 'the oldest fetched commit'} is missing: shallow clone (${why}); run \`git fetch --unshallow\``;
}

/** The diff of bans/active.yaml for commits without trailers only; merges as combined diffs. */
async function diffTrailerless(repoDir: string, commits: readonly LoggedCommit[]): Promise<string> {
  const bare = commits.filter((c) => c.ops.length === 0).map((c) => c.commit);
  if (bare.length === 0) return '';
  // --text and no textconv/external diff: the ledger's own .gitattributes must not hide a change.
  return git(repoDir, ['diff-tree', '--stdin', '--root', '--cc', '-p', '--text', '--no-textconv', '--no-ext-diff', DIFF_COMMIT_FORMAT, '--', BANS], bare.join('\n') + '\n');
}

/**
 * Hand edits: from changed lines where the commit kept one entry per line; from the whole
 * parsed file before and after where it did not (block style, entries split over lines).
 */
async function readHandEdits(repoDir: string, commits: readonly LoggedCommit[], query: Cidr, cache: CidrCache): Promise<Map<string, HandEdit[]>> {
  const diff = await diffTrailerless(repoDir, commits);
  const full = new Set([...changedLines(diff)].filter(([, changed]) => needsFullParse(changed)).map(([commit]) => commit));
  const edits = parseHandEdits(diff, query, cache, full);
  if (full.size === 0) return edits;
  const { parseBanList } = await import('../ledger/banlist.js');
  const bansAt = async (rev: string) => parseBanList(await git(repoDir, ['cat-file', 'blob', `${rev}:${BANS}`]).catch(() => '')).bans;
  const parentsOf = new Map(commits.map((c) => [c.commit, c.parents]));
  for (const commit of full) {
    const parents = await Promise.all((parentsOf.get(commit) ?? []).map(bansAt));
    const found = editsFromEntries(parents, await bansAt(commit), query, cache);
    if (found.length > 0) edits.set(commit, found);
  }
  return edits;
}

/**
 * The ledger lines for the audited CIDRs right after each commit whose trailers name them
 * but do not carry the expiry (older or foreign writers). One `git grep` per 500 commits.
 */
async function lookupEntries(repoDir: string, commits: readonly LoggedCommit[], query: Cidr, cache: CidrCache): Promise<EntryLookup> {
  const wanted = new Set<string>();
  const cidrs = new Set<string>();
  for (const c of commits) {
    for (const op of c.ops) {
      if (op.op === 'unban' || op.op === 'expire' || op.fields.cidr === undefined) continue;
      if (op.fields.expires !== undefined) continue; // the trailers already say it (hook and CLI writers do)
      const cidr = cache.related(op.fields.cidr, query)?.cidr;
      if (!cidr) continue;
      wanted.add(c.commit);
      cidrs.add(cidr.key);
    }
  }
  const lookup: EntryLookup = new Map();
  if (wanted.size === 0) return lookup;
  const patterns = [...cidrs].flatMap((k) => [`cidr: ${k},`, `cidr: ${k}}`, `cidr: "${k}",`, `cidr: "${k}"}`]);
  const revs = [...wanted];
  for (let i = 0; i < revs.length; i += 500) {
    const args = ['grep', '--no-color', '--text', '--no-textconv', '-F', ...patterns.flatMap((p) => ['-e', p]), ...revs.slice(i, i + 500), '--', BANS];
    const out = await git(repoDir, args).catch((err: unknown) => {
      if (err instanceof ExecError && err.exitCode === 1) return ''; // no match
      throw err;
    });
    for (const line of out.split('\n')) {
      const sep = line.indexOf(`:${BANS}:`);
      if (sep <= 0) continue;
      const commit = line.slice(0, sep);
      for (const m of matchingEntries([line.slice(sep + BANS.length + 2)], query, cache)) lookup.set(lookupKey(commit, m.cidr.key), m.entry);
    }
  }
  return lookup;
}

async function currentBans(repoDir: string, rev: string, query: Cidr, cache: CidrCache): Promise<CurrentBan[]> {
  const text = await git(repoDir, ['cat-file', 'blob', `${rev}:${BANS}`]).catch(() => '');
  return matchingEntries(text.split('\n'), query, cache).map((m) => ({ cidr: m.cidr.key, relation: m.relation, entry: m.entry }));
}
