/**
 * The host's clone of the ledger (under stateDir). The reconciler only ever reads it:
 * a cheap `ls-remote` tells whether the remote tip moved; only then does it fetch, into
 * `refs/remotes/origin/<branch>`. It never merges and never commits; ledgers are read
 * at a commit (`git show REV:path`), so the working tree is not needed for enforcing.
 * After a commit is accepted its tree is checked out, for people and read-only commands.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TransientError, redact } from '../lib/errors.js';
import { execRunner, type Runner } from '../lib/exec.js';
import { writeFileAtomicSync } from '../lib/files.js';

/** git never prompts (a hung reconciler is worse than a failed fetch) and ignores the caller's cwd config. */
export const GIT_ENV: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };
const LS_REMOTE_TIMEOUT_MS = 20_000;
const FETCH_TIMEOUT_MS = 120_000;

function git(run: Runner, dir: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return run('git', ['-C', dir, ...args], { env: GIT_ENV, timeoutMs }).then((r) => r.stdout.trim());
}

export function trackingRef(branch: string): string {
  return `refs/remotes/origin/${branch}`;
}

/**
 * `.git/info/attributes` outranks every `.gitattributes` in the tree. The ledger is
 * untrusted: its own attributes must not convert line endings or encodings, run filters,
 * expand idents or hide diffs in this clone (what `list`, `export` and `audit` read).
 */
export const NEUTRAL_ATTRIBUTES = '# written by fail2git: the ledger\'s .gitattributes has no effect here\n* -text !eol !filter !working-tree-encoding -ident -export-subst diff merge\n';

export function neutralizeAttributes(dir: string): void {
  const path = join(dir, '.git', 'info', 'attributes');
  try {
    if (readFileSync(path, 'utf8') === NEUTRAL_ATTRIBUTES) return;
  } catch {
    // not written yet
  }
  writeFileAtomicSync(path, NEUTRAL_ATTRIBUTES, { mkdir: true });
}

/**
 * Bounded disk for every repository fail2git keeps (the host's clone, the writer's bare repo).
 * A ban commit on a large ledger is one new blob of the whole file: loose, that is the file
 * zlib-compressed (~450 KB at 100,000 entries), and git repacks loose objects only past 6,700
 * of them (gc.auto), so 1,000 bans would leave ~450 MB. Instead fetched objects stay a pack
 * (fetch.unpackLimit 1), gc --auto (which fetch runs) repacks past 256 loose objects (a writer's
 * commits) or 20 packs (each fetched pack carries its delta base), inline rather than detached.
 * So a repository stays within its packed size plus ~20 fetches' worth (docs/scale.md).
 */
export const DISK_CONFIG: ReadonlyArray<readonly [section: string, key: string, value: string]> = [
  ['fetch', 'unpackLimit', '1'],
  ['gc', 'auto', '256'],
  ['gc', 'autoPackLimit', '20'],
  ['gc', 'autoDetach', 'false'],
];
const DISK_MARK = '# fail2git: bounded disk';

/**
 * Adds DISK_CONFIG to the repository's config file (`configPath`: `.git/config`, or `config`
 * of a bare repository) unless it is there. An atomic replace, no git process: runs on every sync.
 */
export function ensureDiskConfig(configPath: string): void {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch {
    return; // no repository (yet): nothing to configure
  }
  if (text.includes(DISK_MARK)) return;
  const lines = [DISK_MARK];
  for (const [section, key, value] of DISK_CONFIG) lines.push(`[${section}]`, `\t${key} = ${value}`);
  // Replaced whole (temp file, rename), never rewritten in place: a crash or a full disk
  // must not leave git a truncated config, which would break every later git command here.
  writeFileAtomicSync(configPath, (text.endsWith('\n') || text === '' ? text : text + '\n') + lines.join('\n') + '\n', { keepMode: true, exactMode: true, durable: true });
}

/**
 * Makes `dir` a clone of `remote` (creating it on first use, checked out at `branch`
 * when the remote has it) and points `origin` at `remote` if the config changed.
 * Returns true when it created the clone.
 */
export async function ensureClone(remote: string, dir: string, branch: string, run: Runner = execRunner): Promise<boolean> {
  if (existsSync(join(dir, '.git'))) {
    ensureDiskConfig(join(dir, '.git', 'config'));
    const url = originUrl(dir) ?? (await git(run, dir, ['config', '--get', 'remote.origin.url']).catch(() => ''));
    if (url === '') await git(run, dir, ['remote', 'add', 'origin', remote]);
    else if (url !== remote) await git(run, dir, ['remote', 'set-url', 'origin', remote]);
    return false;
  }
  mkdirSync(dirname(dir), { recursive: true });
  await run('git', ['init', '-q', '-b', branch, dir], { env: GIT_ENV });
  ensureDiskConfig(join(dir, '.git', 'config'));
  await git(run, dir, ['remote', 'add', 'origin', remote]);
  try {
    const tip = await fetchTip(dir, branch, run);
    neutralizeAttributes(dir);
    if (tip) await git(run, dir, ['checkout', '-q', '-B', branch, trackingRef(branch)]);
  } catch {
    // Remote unreachable on first use: the clone exists; the next run fetches.
  }
  return true;
}

/** The remote's tip of `branch` via `ls-remote` (no objects transferred); undefined when the branch does not exist. */
export async function lsRemoteTip(dir: string, branch: string, run: Runner = execRunner): Promise<string | undefined> {
  try {
    const out = await git(run, dir, ['ls-remote', '--heads', 'origin', `refs/heads/${branch}`], LS_REMOTE_TIMEOUT_MS);
    const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
    return line?.split('\t')[0];
  } catch (err) {
    throw new TransientError('E_REMOTE_UNREACHABLE', `git ls-remote failed: ${redact(firstLine(err))}`, { cause: err });
  }
}

/** `remote.origin.url` read from .git/config without starting git (the common, simple case); undefined = ask git. */
function originUrl(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, '.git', 'config'), 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\[remote "origin"\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(text);
  const url = m && /^\s*url\s*=\s*(.+?)\s*$/m.exec(m[1]!);
  // Quoting, escapes or includes: leave it to git.
  return url && !/["\\]/.test(url[1]!) && !text.includes('[include') ? url[1] : undefined;
}

/** A full commit id (SHA-1 or SHA-256 hex). */
export const isSha = (text: string): boolean => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text);

/**
 * The commit `ref` of the repository at `gitDir` (a clone's `.git`, or a bare repository)
 * points at, if any. A loose ref is one small file that fetch writes: read without starting
 * git. Packed refs (after gc) go through git.
 */
export async function refTip(gitDir: string, ref: string, run: Runner = execRunner): Promise<string | undefined> {
  try {
    const loose = readFileSync(join(gitDir, ref), 'utf8').trim();
    if (isSha(loose)) return loose;
  } catch {
    // not loose: ask git
  }
  const out = await git(run, gitDir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]).catch(() => '');
  return out === '' ? undefined : out;
}

/** The commit last fetched into the tracking ref, if any. */
export function localTip(dir: string, branch: string, run: Runner = execRunner): Promise<string | undefined> {
  return refTip(join(dir, '.git'), trackingRef(branch), run);
}

/** Fetches the remote tip of `branch` (forced: the remote is the truth, history may be rewritten). */
export async function fetchTip(dir: string, branch: string, run: Runner = execRunner): Promise<string | undefined> {
  try {
    await git(run, dir, ['fetch', '-q', '--no-tags', 'origin', `+refs/heads/${branch}:${trackingRef(branch)}`], FETCH_TIMEOUT_MS);
  } catch (err) {
    throw new TransientError('E_FETCH_FAILED', `git fetch failed: ${redact(firstLine(err))}`, { cause: err });
  }
  return localTip(dir, branch, run);
}

/**
 * Points the clone's working tree at an accepted commit, so `list`, `export` and people
 * reading stateDir/ledger see what is enforced. Writers use their own repository.
 */
export async function checkoutRev(dir: string, branch: string, rev: string, run: Runner = execRunner): Promise<void> {
  neutralizeAttributes(dir);
  await git(run, dir, ['checkout', '-q', '-f', '-B', branch, rev]);
}

export interface SyncResult {
  /** the newest commit available locally (fetched now or earlier); undefined = never fetched */
  tip: string | undefined;
  /** whether this call transferred anything */
  fetched: boolean;
  /** set when the remote could not be reached; `tip` is then the last fetched commit */
  error?: TransientError;
}

/** ls-remote, and fetch only when the remote tip differs from what we already have. */
export async function syncClone(remote: string, dir: string, branch: string, run: Runner = execRunner): Promise<SyncResult> {
  const created = await ensureClone(remote, dir, branch, run);
  const have = await localTip(dir, branch, run);
  try {
    const remoteTip = await lsRemoteTip(dir, branch, run);
    if (remoteTip !== undefined && remoteTip === have) return { tip: have, fetched: created };
    if (remoteTip === undefined) return { tip: have, fetched: false, error: new TransientError('E_REMOTE_NO_BRANCH', `remote has no branch "${branch}"`) };
    return { tip: await fetchTip(dir, branch, run), fetched: true };
  } catch (err) {
    const e = err instanceof TransientError ? err : new TransientError('E_FETCH_FAILED', redact(firstLine(err)), { cause: err });
    return { tip: have, fetched: false, error: e };
  }
}

/**
 * The clone as it is, without the network: what a watch-mode run enforces while the fetch
 * runs beside it. `lastError` is the last background sync's failure, reported as the run's.
 */
export async function localSync(dir: string, branch: string, lastError?: TransientError, run: Runner = execRunner): Promise<SyncResult> {
  const tip = existsSync(join(dir, '.git')) ? await localTip(dir, branch, run) : undefined;
  return lastError ? { tip, fetched: false, error: lastError } : { tip, fetched: false };
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
