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

/** Fetches the remote branch; returns its commit. Unreachable or missing → TransientError. */
export async function fetchRemoteTip(repo: WriterRepo): Promise<string> {
  const git = gitIn(repo);
  try {
    await git(['fetch', '-q', '--no-tags', '--', repo.remote, `+refs/heads/${repo.branch}:${TIP_REF}`]);
  } catch (err) {
    const why = firstLine(err);
    const code = /couldn't find remote ref/i.test(why) ? 'E_REMOTE_NO_BRANCH' : 'E_REMOTE_UNREACHABLE';
    throw new TransientError(code, `cannot fetch ${repo.branch} from ${redact(repo.remote)}: ${why}`, { cause: err });
  }
  return (await git(['rev-parse', '--verify', `${TIP_REF}^{commit}`])).trim();
}

/** Reads files at a commit in one `cat-file --batch` (sizes are bytes, so slice a Buffer). */
export async function readAt(repo: WriterRepo, rev: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const out = Buffer.from(await gitIn(repo)(['cat-file', '--batch'], { input: paths.map((p) => `${rev}:${p}\n`).join('') }), 'utf8');
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
async function writeCommit(repo: WriterRepo, parent: string, change: Change, opts: CommitOptions): Promise<string | null> {
  const git = gitIn(repo);
  const index = join(repo.dir, `fail2git-index-${process.pid}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await git(['read-tree', parent], { env });
    const lines: string[] = [];
    for (const [path, text] of Object.entries(change.files)) {
      const blob = (await git(['hash-object', '-w', '--stdin'], { input: text })).trim();
      lines.push(`100644 ${blob}\t${path}`);
    }
    await git(['update-index', '--index-info'], { env, input: lines.join('\n') + '\n' });
    const tree = (await git(['write-tree'], { env })).trim();
    const parentTree = (await git(['rev-parse', `${parent}^{tree}`])).trim();
    if (tree === parentTree) return null;
    const who: NodeJS.ProcessEnv = {
      GIT_AUTHOR_NAME: opts.author.name, GIT_AUTHOR_EMAIL: opts.author.email,
      GIT_COMMITTER_NAME: opts.author.name, GIT_COMMITTER_EMAIL: opts.author.email,
    };
    // Committer dates on the branch never go back (signed hosts hold a commit dated before its
    // parent, controller/git/signing.ts): a host whose clock is behind the last writer's dates
    // its commit at the parent's second instead.
    const parentTime = Number((await git(['show', '-s', '--format=%ct', parent])).trim());
    if (Number.isFinite(parentTime) && parentTime * 1000 > Date.now()) who.GIT_COMMITTER_DATE = `${parentTime} +0000`;
    const sign = opts.signingKey ? ['-S'] : [];
    const args = [...signingArgs({ signingKey: opts.signingKey }), 'commit-tree', ...sign, tree, '-p', parent, '-F', '-'];
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
    const tip = await fetchRemoteTip(repo);
    const files = await readAt(repo, tip, opts.paths);
    const change = await opts.mutate({ tip, files });
    if (change === null) return { commit: null, tip, attempts: attempt };
    const commit = await writeCommit(repo, tip, change, opts);
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

/**
 * Commit messages reachable from `rev` committed after `since`, by `email` when given (this
 * host's own, for idempotency checks), else by anyone (unbans, for time order).
 */
export async function recentMessages(repo: WriterRepo, rev: string, since: Date, email?: string): Promise<string> {
  const who = email === undefined ? [] : [`--author=<${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>`];
  return gitIn(repo)(['log', `--since=${since.toISOString()}`, ...who, '--format=%B%x00', rev, '--']);
}
