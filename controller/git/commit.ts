/**
 * The writer protocol (DESIGN rule 2: never text-merge).
 *
 * Each attempt fetches the remote tip, reads the ledger files AT that tip, lets the caller
 * re-apply its changes to the parsed content, builds a commit whose only parent is the tip,
 * and pushes it. A rejected push (someone else pushed first) starts over with jittered,
 * growing backoff. Nothing is merged, so two writers can never produce a text conflict.
 *
 * Works on a private bare repository (no working tree to reset, nothing a reconciler reads):
 * objects are written with plumbing (`hash-object`, a temp index, `commit-tree`). Callers
 * serialise writers on one repository (controller/lib/lock.ts).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TransientError, redact } from '../lib/errors.js';
import { execRunner, ExecError, type Runner } from '../lib/exec.js';
import { signingArgs } from './signing.js';
import { ensureDiskConfig } from './clone.js';

export interface WriterRepo {
  /** the private bare repository (created on first use) */
  dir: string;
  remote: string;
  branch: string;
  run?: Runner;
  /** per git command; default 30 s */
  timeoutMs?: number;
}

export interface Author {
  name: string;
  email: string;
}

/** What an attempt sees: the remote tip and the requested files at it (null = absent). */
export interface Snapshot {
  tip: string;
  files: Record<string, string | null>;
}

/** What to commit: whole new file contents and the message. */
export interface Change {
  files: Record<string, string>;
  message: string;
}

export interface CommitOptions {
  author: Author;
  signingKey?: string | undefined;
  /** ledger paths the callback reads */
  paths: readonly string[];
  /** re-applies the caller's changes to a fresh snapshot; null = nothing to commit */
  mutate(snap: Snapshot): Promise<Change | null> | Change | null;
  /** default 12 */
  maxAttempts?: number;
  /** first backoff ceiling in ms (doubles per attempt, capped at 2 s); default 100 */
  backoffMs?: number;
}

export interface CommitResult {
  /** the pushed commit; null when the callback had nothing to commit */
  commit: string | null;
  /** the remote tip the last attempt started from */
  tip: string;
  attempts: number;
}

const ENV: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };
/** stderr of a push that lost a race: another writer moved the branch, or holds its ref lock. */
const LOST_RACE = /\[rejected\]|non-fast-forward|fetch first|cannot lock ref|Unable to create .*\.lock|failed to update ref|incorrect old value/i;

function firstLine(err: unknown): string {
  const e = err as ExecError;
  const text = (e.stderr || e.message || String(err)).trim().split('\n').find((l) => l.trim() !== '') ?? '';
  return redact(text.replace(/^(fatal|error): /, ''));
}

/** Runs git in the writer repository. */
export function gitIn(repo: WriterRepo) {
  const run = repo.run ?? execRunner;
  return (args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    run('git', ['-C', repo.dir, ...args], { env: { ...ENV, ...opts.env }, timeoutMs: repo.timeoutMs ?? 30_000, input: opts.input ?? '' })
      .then((r) => r.stdout);
}

/** Creates the bare writer repository on first use. */
export async function ensureWriterRepo(repo: WriterRepo): Promise<void> {
  if (existsSync(join(repo.dir, 'HEAD'))) return ensureDiskConfig(join(repo.dir, 'config'));
  mkdirSync(repo.dir, { recursive: true });
  await (repo.run ?? execRunner)('git', ['init', '-q', '--bare', repo.dir], { env: ENV });
  ensureDiskConfig(join(repo.dir, 'config'));
}

/** Where a writer repository keeps the remote tip it last fetched (audit reads it on a host without a reader clone). */
export const TIP_REF = 'refs/fail2git/tip';

/** Fetches the remote branch into TIP_REF. Unreachable or missing → TransientError. */
async function fetchTip(repo: WriterRepo): Promise<void> {
  try {
    await gitIn(repo)(['fetch', '-q', '--no-tags', '--', repo.remote, `+refs/heads/${repo.branch}:${TIP_REF}`]);
  } catch (err) {
    const why = firstLine(err);
    const code = /couldn't find remote ref/i.test(why) ? 'E_REMOTE_NO_BRANCH' : 'E_REMOTE_UNREACHABLE';
    throw new TransientError(code, `cannot fetch ${repo.branch} from ${redact(repo.remote)}: ${why}`, { cause: err });
  }
}

/** Fetches the remote branch; returns its commit. Unreachable or missing → TransientError. */
export async function fetchRemoteTip(repo: WriterRepo): Promise<string> {
  await fetchTip(repo);
  return (await gitIn(repo)(['rev-parse', '--verify', `${TIP_REF}^{commit}`])).trim();
}

/** Reads files at a commit in one `cat-file --batch` (sizes are bytes, so slice a Buffer). */
export async function readAt(repo: WriterRepo, rev: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const out = Buffer.from(await gitIn(repo)(['cat-file', '--batch'], { input: paths.map((p) => `${rev}:${p}\n`).join('') }), 'utf8');
  return parseBatch(out, paths);
}

/** The fetched tip as one attempt needs it: its commit, tree and committer time, and the files at it. */
interface TipSnapshot extends Snapshot {
  tree: string;
  /** committer time, unix seconds (NaN when unreadable) */
  committed: number;
}

/**
 * Fetches the remote tip and reads, in one `cat-file --batch`, its commit (tree, committer
 * time) and the files at it: one git process instead of three more per attempt, and a
 * storm's flusher makes many attempts when hosts race for the branch.
 */
async function fetchSnapshot(repo: WriterRepo, paths: readonly string[]): Promise<TipSnapshot> {
  await fetchTip(repo);
  const git = gitIn(repo);
  const input = [`${TIP_REF}^{commit}`, ...paths.map((p) => `${TIP_REF}^{commit}:${p}`)].map((l) => `${l}\n`).join('');
  const out = Buffer.from(await git(['cat-file', '--batch'], { input }), 'utf8');
  const nl = out.indexOf(0x0a);
  const head = /^([0-9a-f]+) commit (\d+)$/.exec(out.subarray(0, nl).toString('utf8'));
  if (!head) throw new TransientError('E_REMOTE_NO_BRANCH', `cannot read the fetched ${repo.branch} of ${redact(repo.remote)} (${TIP_REF} is not a commit)`);
  const size = Number(head[2]);
  const body = out.subarray(nl + 1, nl + 1 + size).toString('utf8');
  const tree = /^tree ([0-9a-f]+)$/m.exec(body)?.[1] ?? '';
  const committed = Number(/^committer .* (\d+) [-+]\d{4}$/m.exec(body)?.[1] ?? NaN);
  return { tip: head[1]!, tree, committed, files: parseBatch(out.subarray(nl + 1 + size + 1), paths) };
}

/** The blobs of a `cat-file --batch` answer, one per path (null = missing; sizes are bytes). */
function parseBatch(out: Buffer, paths: readonly string[]): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  let pos = 0;
  for (const path of paths) {
    const nl = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    const m = /^[0-9a-f]+ blob (\d+)$/.exec(header);
    if (!m) {
      files[path] = null; // "<rev>:<path> missing"
      continue;
    }
    const size = Number(m[1]);
    files[path] = out.subarray(pos, pos + size).toString('utf8');
    pos += size + 1;
  }
  return files;
}

/** Builds a commit on top of `parent` with the given files replaced; null if the tree is unchanged. */
async function writeCommit(repo: WriterRepo, parent: TipSnapshot, change: Change, opts: CommitOptions): Promise<string | null> {
  const git = gitIn(repo);
  const index = join(repo.dir, `fail2git-index-${process.pid}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(['read-tree', parent.tip], { env });
    const lines: string[] = [];
    for (const [path, text] of Object.entries(change.files)) {
      const blob = (await git(['hash-object', '-w', '--stdin'], { input: text })).trim();
      lines.push(`100644 ${blob}\t${path}`);
    }
    await git(['update-index', '--index-info'], { env, input: lines.join('\n') + '\n' });
    const tree = (await git(['write-tree'], { env })).trim();
    if (tree === parent.tree) return null;
    const who: NodeJS.ProcessEnv = {
      GIT_AUTHOR_NAME: opts.author.name, GIT_AUTHOR_EMAIL: opts.author.email,
      GIT_COMMITTER_NAME: opts.author.name, GIT_COMMITTER_EMAIL: opts.author.email,
    };
    // Committer dates on the branch never go back (signed hosts hold a commit dated before its
    // parent, controller/git/signing.ts): a host whose clock is behind the last writer's dates
    // its commit at the parent's second instead.
    const parentTime = parent.committed;
    if (Number.isFinite(parentTime) && parentTime * 1000 > Date.now()) who.GIT_COMMITTER_DATE = `${parentTime} +0000`;
    const sign = opts.signingKey ? ['-S'] : [];
    const args = [...signingArgs({ signingKey: opts.signingKey }), 'commit-tree', ...sign, tree, '-p', parent.tip, '-F', '-'];
    return (await git(args, { env: who, input: change.message })).trim();
  } finally {
    rmSync(index, { force: true });
  }
}

/** Pushes `commit` to the branch; false when another writer won the race. */
async function push(repo: WriterRepo, commit: string): Promise<boolean> {
  try {
    await gitIn(repo)(['push', '-q', '--', repo.remote, `${commit}:refs/heads/${repo.branch}`]);
    return true;
  } catch (err) {
    const why = firstLine(err);
    if (err instanceof ExecError && LOST_RACE.test(err.stderr)) return false;
    throw new TransientError('E_PUSH_FAILED', `cannot push to ${redact(repo.remote)}: ${why}`, { cause: err });
  }
}

/** Full jitter: a random wait up to base × 2^attempt, capped at 2 s. */
export function backoffDelay(attempt: number, baseMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(2000, baseMs * 2 ** attempt));
}

/** Fetch, reset to the tip, re-apply, commit, push; on a lost race start over. */
export async function commitAndPush(repo: WriterRepo, opts: CommitOptions): Promise<CommitResult> {
  await ensureWriterRepo(repo);
  const max = opts.maxAttempts ?? 12;
  for (let attempt = 1; ; attempt++) {
    const snap = await fetchSnapshot(repo, opts.paths);
    const { tip } = snap;
    const change = await opts.mutate({ tip, files: snap.files });
    if (change === null) return { commit: null, tip, attempts: attempt };
    const commit = await writeCommit(repo, snap, change, opts);
    if (commit === null) return { commit: null, tip, attempts: attempt };
    if (await push(repo, commit)) {
      // The remote tip is now our commit: keep it, so the writer's repository holds the
      // history up to its last push (audit reads it on a host without a reader clone).
      await gitIn(repo)(['update-ref', TIP_REF, commit]).catch(() => undefined);
      return { commit, tip, attempts: attempt };
    }
    if (attempt >= max) {
      throw new TransientError('E_PUSH_CONTENDED', `push to ${redact(repo.remote)} rejected ${attempt} times (other writers kept winning); will retry later`);
    }
    await new Promise((r) => setTimeout(r, backoffDelay(attempt, opts.backoffMs ?? 100)));
  }
}

/** One commit of `recentCommits`: its author's email and its message. */
export interface RecentCommit {
  email: string;
  body: string;
}

/**
 * Every commit reachable from `rev` committed after `since`, with its author's email: one
 * `git log` for both questions a flusher asks of the history (which of its own operations were
 * delivered, and every writer's recent unbans).
 */
export async function recentCommits(repo: WriterRepo, rev: string, since: Date): Promise<RecentCommit[]> {
  const out = await gitIn(repo)(['log', `--since=${since.toISOString()}`, '--format=%ae%x01%B%x00', rev, '--']);
  const commits: RecentCommit[] = [];
  for (const chunk of out.split('\0')) {
    const text = chunk.replace(/^\n/, '');
    const sep = text.indexOf('\x01');
    if (sep < 0) continue;
    commits.push({ email: text.slice(0, sep), body: text.slice(sep + 1) });
  }
  return commits;
}
