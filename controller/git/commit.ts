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
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { TransientError, redact } from '../lib/errors.js';
import { writeFileAtomicSync } from '../lib/files.js';
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
  /** first backoff ceiling in ms, at least half an attempt's own duration (doubles per attempt, capped at 2 s); default 100 */
  backoffMs?: number;
  /**
   * let each fetch run git's auto-maintenance (`gc --auto`), as `git fetch` does; default true.
   * A flusher that makes many attempts in a row turns it off and calls maintainWriterRepo once
   * its rounds are done (a `git maintenance` process per fetch otherwise).
   */
  autoMaintenance?: boolean;
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
  return (args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; binary?: boolean } = {}) =>
    run('git', ['-C', repo.dir, ...args], {
      env: { ...ENV, ...opts.env }, timeoutMs: repo.timeoutMs ?? 30_000, input: opts.input ?? '',
      ...(opts.binary ? { stdoutEncoding: 'latin1' as const } : {}),
    }).then((r) => r.stdout);
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
async function fetchTip(repo: WriterRepo, autoMaintenance = true): Promise<void> {
  try {
    await gitIn(repo)(['fetch', '-q', '--no-tags', ...(autoMaintenance ? [] : ['--no-auto-maintenance']), '--', repo.remote, `+refs/heads/${repo.branch}:${TIP_REF}`]);
  } catch (err) {
    const why = firstLine(err);
    const code = /couldn't find remote ref/i.test(why) ? 'E_REMOTE_NO_BRANCH' : 'E_REMOTE_UNREACHABLE';
    throw new TransientError(code, `cannot fetch ${repo.branch} from ${redact(repo.remote)}: ${why}`, { cause: err });
  }
}

/**
 * git's auto-maintenance for the writer repository (`gc --auto` under clone.ts's DISK_CONFIG
 * limits), what every `git fetch` runs unless told not to; best effort.
 */
export async function maintainWriterRepo(repo: WriterRepo): Promise<void> {
  await gitIn(repo)(['maintenance', 'run', '--auto', '--quiet']).catch(() => undefined);
}

/** Fetches the remote branch; returns its commit. Unreachable or missing → TransientError. */
export async function fetchRemoteTip(repo: WriterRepo): Promise<string> {
  await fetchTip(repo);
  return (await gitIn(repo)(['rev-parse', '--verify', `${TIP_REF}^{commit}`])).trim();
}

/** Reads files at a commit in one `cat-file --batch` (sizes are bytes, so slice a Buffer). */
export async function readAt(repo: WriterRepo, rev: string, paths: readonly string[]): Promise<Record<string, string | null>> {
  const out = Buffer.from(await gitIn(repo)(['cat-file', '--batch'], { input: paths.map((p) => `${rev}:${p}\n`).join(''), binary: true }), 'latin1');
  const files: Record<string, string | null> = {};
  batchObjects(out, paths.length).forEach((o, i) => {
    files[paths[i]!] = o?.type === 'blob' ? o.data.toString('utf8') : null;
  });
  return files;
}

/** The fetched tip as one attempt needs it: its commit, tree and committer time, and the files at it. */
interface TipSnapshot extends Snapshot {
  tree: string;
  /** committer time, unix seconds (NaN when unreadable) */
  committed: number;
  /** the tip's trees on the way to `paths`, by directory ('' = the root), as read (absent = not a tree there) */
  trees: Map<string, TreeEntry[]>;
}

/** The directories on the way to `paths`, the root ('') first, each once. */
function dirsOf(paths: readonly string[]): string[] {
  const dirs = new Set<string>(['']);
  for (const p of paths) {
    const parts = p.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs];
}

/**
 * Fetches the remote tip and reads, in one `cat-file --batch`, its commit (tree, committer
 * time), the trees on the way to the paths and the files at it: one git process instead of
 * several more per attempt, and a storm's flusher makes many attempts when hosts race for the
 * branch.
 */
async function fetchSnapshot(repo: WriterRepo, paths: readonly string[], autoMaintenance = true): Promise<TipSnapshot> {
  await fetchTip(repo, autoMaintenance);
  const git = gitIn(repo);
  const dirs = dirsOf(paths);
  const queries = [`${TIP_REF}^{commit}`, ...dirs.map((d) => (d === '' ? `${TIP_REF}^{tree}` : `${TIP_REF}^{commit}:${d}`)), ...paths.map((p) => `${TIP_REF}^{commit}:${p}`)];
  const out = Buffer.from(await git(['cat-file', '--batch'], { input: queries.map((l) => `${l}\n`).join(''), binary: true }), 'latin1');
  const objs = batchObjects(out, queries.length);
  const head = objs[0];
  if (head?.type !== 'commit') throw new TransientError('E_REMOTE_NO_BRANCH', `cannot read the fetched ${repo.branch} of ${redact(repo.remote)} (${TIP_REF} is not a commit)`);
  const body = head.data.toString('utf8');
  const tree = /^tree ([0-9a-f]+)$/m.exec(body)?.[1] ?? '';
  const committed = Number(/^committer .* (\d+) [-+]\d{4}$/m.exec(body)?.[1] ?? NaN);
  const trees = new Map<string, TreeEntry[]>();
  dirs.forEach((d, i) => {
    const o = objs[1 + i];
    if (o?.type === 'tree') trees.set(d, parseTree(o.data));
  });
  const files: Record<string, string | null> = {};
  paths.forEach((p, i) => {
    const o = objs[1 + dirs.length + i];
    files[p] = o?.type === 'blob' ? o.data.toString('utf8') : null;
  });
  return { tip: head.id, tree, committed, trees, files };
}

/** The objects of a `cat-file --batch` answer, one per query (null = missing; sizes are bytes). */
function batchObjects(out: Buffer, n: number): ({ id: string; type: string; data: Buffer } | null)[] {
  const objs: ({ id: string; type: string; data: Buffer } | null)[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const nl = out.indexOf(0x0a, pos);
    const header = out.subarray(pos, nl < 0 ? out.length : nl).toString('latin1');
    pos = nl + 1;
    const m = /^([0-9a-f]+) ([a-z]+) (\d+)$/.exec(header);
    if (!m) {
      objs.push(null); // "<query> missing" (or ambiguous)
      continue;
    }
    const size = Number(m[3]);
    objs.push({ id: m[1]!, type: m[2]!, data: out.subarray(pos, pos + size) });
    pos += size + 1;
  }
  return objs;
}

/** One entry of a git tree object; the name as raw bytes in a latin1 string. */
interface TreeEntry {
  mode: string;
  name: string;
  id: string;
}

function parseTree(raw: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const sp = raw.indexOf(0x20, pos);
    const nul = raw.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 21 > raw.length) break;
    entries.push({ mode: raw.subarray(pos, sp).toString('latin1'), name: raw.subarray(sp + 1, nul).toString('latin1'), id: raw.subarray(nul + 1, nul + 21).toString('hex') });
    pos = nul + 21;
  }
  return entries;
}

/** git's order of tree entries: bytewise, a tree's name as if it ended in `/`. */
const treeKey = (e: TreeEntry) => (e.mode === '40000' ? `${e.name}/` : e.name);

/**
 * Writes one loose object (zlib-deflated `<type> <size>\0<body>`, named by its SHA-1) as git
 * does: into a temp file beside it, renamed into place; returns its id. An object already
 * there is left alone (same name, same content).
 */
function writeLooseObject(gitDir: string, type: 'blob' | 'tree' | 'commit', body: Buffer): string {
  const data = Buffer.concat([Buffer.from(`${type} ${body.length}\0`, 'latin1'), body]);
  const id = createHash('sha1').update(data).digest('hex');
  const dir = join(gitDir, 'objects', id.slice(0, 2));
  const file = join(dir, id.slice(2));
  if (existsSync(file)) return id;
  // `tmp_obj_…` as git names its own: git's prune removes one a crash left behind.
  writeFileAtomicSync(file, deflateSync(data), { mode: 0o444, mkdir: true, tmp: join(dir, `tmp_obj_fail2git_${process.pid}_${Math.floor(Math.random() * 2 ** 32).toString(16)}`) });
  return id;
}

/** Names and emails git takes as they are (no `crud` trimmed, nothing it would refuse). */
const PLAIN_IDENT = /^[A-Za-z0-9_@+-](?:[A-Za-z0-9._@+-]*[A-Za-z0-9_@+-])?$/;

/** `+HHMM` of this machine's time zone now, as git writes it. */
function tzOffset(d: Date): string {
  const m = -d.getTimezoneOffset();
  const a = Math.abs(m);
  return `${m < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
}

/**
 * The commit written straight into the object store, the same bytes `read-tree` …
 * `commit-tree` would make, without their five git processes: the changed files' blobs, the
 * trees on their way (the tip's, with those entries replaced or added), the commit. Undefined
 * when it cannot be done this way (a directory the tip lacks, a SHA-256 repository, a name git
 * would rewrite): the caller takes git's way then.
 */
function writeCommitDirect(repo: WriterRepo, parent: TipSnapshot, change: Change, opts: CommitOptions): string | null | undefined {
  if (parent.tip.length !== 40 || !PLAIN_IDENT.test(opts.author.name) || !PLAIN_IDENT.test(opts.author.email)) return undefined;
  const trees = new Map([...parent.trees].map(([d, es]) => [d, es.map((e) => ({ ...e }))] as const));
  const dirty = new Set<string>();
  const upsert = (dir: string, entry: TreeEntry): boolean => {
    const es = trees.get(dir);
    if (!es) return false;
    const at = es.findIndex((e) => e.name === entry.name);
    if (at >= 0) {
      if (es[at]!.mode === '40000' && entry.mode !== '40000') return false; // a file where a directory was
      es[at] = entry;
    } else {
      es.push(entry);
      es.sort((a, b) => (treeKey(a) < treeKey(b) ? -1 : treeKey(a) > treeKey(b) ? 1 : 0));
    }
    dirty.add(dir);
    return true;
  };
  for (const [path, text] of Object.entries(change.files)) {
    const parts = path.split('/');
    const name = Buffer.from(parts.pop()!, 'utf8').toString('latin1');
    if (name === '' || parts.some((p) => p === '')) return undefined;
    const blob = writeLooseObject(repo.dir, 'blob', Buffer.from(text, 'utf8'));
    if (!upsert(parts.join('/'), { mode: '100644', name, id: blob })) return undefined;
  }
  // Deepest directories first, each written once and entered into its parent.
  const order = [...dirty].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
  let root = parent.tree;
  while (order.length > 0) {
    const dir = order.shift()!;
    const body = Buffer.concat(trees.get(dir)!.flatMap((e) => [Buffer.from(`${e.mode} ${e.name}\0`, 'latin1'), Buffer.from(e.id, 'hex')]));
    const id = writeLooseObject(repo.dir, 'tree', body);
    if (dir === '') {
      root = id;
      continue;
    }
    const parts = dir.split('/');
    const name = Buffer.from(parts.pop()!, 'utf8').toString('latin1');
    const up = parts.join('/');
    if (!upsert(up, { mode: '40000', name, id })) return undefined;
    if (!order.includes(up)) {
      order.push(up);
      order.sort((a, b) => b.split('/').length - a.split('/').length);
    }
  }
  if (root === parent.tree) return null;
  const now = new Date();
  const tz = tzOffset(now);
  const secs = Math.floor(now.getTime() / 1000);
  // Committer dates on the branch never go back (see writeCommitGit).
  const committed = Number.isFinite(parent.committed) && parent.committed * 1000 > now.getTime() ? `${parent.committed} +0000` : `${secs} ${tz}`;
  const who = `${opts.author.name} <${opts.author.email}>`;
  const body = `tree ${root}\nparent ${parent.tip}\nauthor ${who} ${secs} ${tz}\ncommitter ${who} ${committed}\n\n${change.message}`;
  return writeLooseObject(repo.dir, 'commit', Buffer.from(body, 'utf8'));
}

/** Builds a commit on top of `parent` with the given files replaced; null if the tree is unchanged. */
async function writeCommit(repo: WriterRepo, parent: TipSnapshot, change: Change, opts: CommitOptions): Promise<string | null> {
  if (!opts.signingKey) {
    const direct = writeCommitDirect(repo, parent, change, opts);
    if (direct !== undefined) return direct;
  }
  return writeCommitGit(repo, parent, change, opts);
}

/** writeCommit with git's plumbing (a temp index, `commit-tree`): signed commits, and whatever writeCommitDirect leaves. */
async function writeCommitGit(repo: WriterRepo, parent: TipSnapshot, change: Change, opts: CommitOptions): Promise<string | null> {
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
    const started = Date.now();
    const snap = await fetchSnapshot(repo, opts.paths, opts.autoMaintenance ?? true);
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
    // The writers that lost with us retry too: spread the retries over about as long as an
    // attempt takes here (fetch to push), or they meet again at the next push.
    await new Promise((r) => setTimeout(r, backoffDelay(attempt, Math.max(opts.backoffMs ?? 100, Math.round((Date.now() - started) / 2)))));
  }
}

/** One commit of `recentCommits`: its id, its author's email and its message. */
export interface RecentCommit {
  id: string;
  email: string;
  body: string;
}

/**
 * Every commit reachable from `rev` committed after `since`, with its author's email: one
 * `git log` for both questions a flusher asks of the history (which of its own operations were
 * delivered, and every writer's recent unbans).
 */
export async function recentCommits(repo: WriterRepo, rev: string, since: Date): Promise<RecentCommit[]> {
  const out = await gitIn(repo)(['log', `--since=${since.toISOString()}`, '--format=%H%x01%ae%x01%B%x00', rev, '--']);
  const commits: RecentCommit[] = [];
  for (const chunk of out.split('\0')) {
    const text = chunk.replace(/^\n/, '');
    const a = text.indexOf('\x01');
    const b = a < 0 ? -1 : text.indexOf('\x01', a + 1);
    if (b < 0) continue;
    commits.push({ id: text.slice(0, a), email: text.slice(a + 1, b), body: text.slice(b + 1) });
  }
  return commits;
}
