/**
 * Loads a ledger from plain file contents, a directory, or a git commit. The pure core is
 * parseLedgerFiles; the two loaders only fetch bytes. The reconciler reads commits, never
 * a working tree, so what it enforces is exactly what was reviewed and pushed.
 */
import { execFile } from 'node:child_process';
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Fail2gitError, InputError } from '../lib/errors.js';
import { LEDGER_FILES, type Ledger, type LoadResult, type Problem } from './types.js';
import { checkLedgerText, MAX_FILE_BYTES, type LedgerInput } from './text.js';
import { checkBanList, locateBanList, sortProblems } from './banlist.js';
import { parseAllowList, parsePolicy, parseTargets } from './documents.js';
import { crossFileWarnings } from './cross-checks.js';
import type { Pos } from './located.js';

const FILE_ORDER: readonly string[] = Object.values(LEDGER_FILES);

function orderProblems(problems: Problem[]): Problem[] {
  const rank = (f: string): number => {
    const i = FILE_ORDER.indexOf(f);
    return i === -1 ? FILE_ORDER.length : i;
  };
  return sortProblems(problems).sort((a, b) => rank(a.file) - rank(b.file));
}

interface ParsedBans {
  bans: Ledger['bans'];
  problems: Problem[];
  /** where bans[k]'s cidr was written, for cross-file warnings */
  locate?: (k: number) => Pos;
}

function parseBans(input: LedgerInput, file: string): ParsedBans {
  const checked = checkLedgerText(input, file);
  if (checked.text === null) return { bans: [], problems: checked.problems };
  const located = locateBanList(checked.text, file);
  const doc = located.doc;
  if (!doc) return { bans: [], problems: located.problems };
  const { bans, problems, indexes } = checkBanList(doc, file);
  return { bans, problems, locate: (k) => doc.at(['bans', indexes[k] ?? 0, 'cidr']) };
}

/**
 * Pure: builds a ledger from file contents keyed by ledger path (`bans/active.yaml`, …);
 * null or absent = the file is missing (no bans, no allowlist, default policy, no targets).
 * Bytes are checked for UTF-8; strings are taken as already decoded.
 */
export function parseLedgerFiles(files: Record<string, LedgerInput | null | undefined>, source: { dir: string; rev?: string }): LoadResult {
  const get = (f: string): LedgerInput | null => files[f] ?? null;
  const problems: Problem[] = [];
  const bansIn = get(LEDGER_FILES.bans);
  const allowIn = get(LEDGER_FILES.allow);
  const policyIn = get(LEDGER_FILES.policy);
  const targetsIn = get(LEDGER_FILES.targets);
  const bans: ParsedBans = bansIn === null ? { bans: [], problems: [] } : parseBans(bansIn, LEDGER_FILES.bans);
  const allow = allowIn === null ? { allow: [], problems: [] } : parseAllowList(allowIn);
  const policy = policyIn === null ? parsePolicy('apiVersion: fail2git/v1\nkind: Policy\nspec: {}\n') : parsePolicy(policyIn);
  const targets = targetsIn === null ? { targets: [], problems: [] } : parseTargets(targetsIn);
  for (const list of [bans.problems, allow.problems, policy.problems, targets.problems]) for (const p of list) problems.push(p); // (no spread: may be 100,000s)
  const ledger: Ledger = { bans: bans.bans, allow: allow.allow, policy: policy.policy, targets: targets.targets, source: { ...source } };
  const locate = bans.locate ?? (() => ({ line: 1, col: 1 }));
  const warnings = crossFileWarnings(ledger, (k) => ({ file: LEDGER_FILES.bans, ...locate(k) }));
  return { ledger, problems: orderProblems(problems), warnings: orderProblems(warnings) };
}

/**
 * Reads one ledger file's bytes; null when it does not exist. Symbolic links are refused:
 * a pull request must not make `validate` print pieces of some other file on the CI host.
 */
export async function readLedgerFile(path: string): Promise<Uint8Array | null> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) throw new InputError('E_LEDGER_READ', `${path}: is a symbolic link; ledger files must be regular files`);
    if (!st.isFile()) throw new InputError('E_LEDGER_READ', `${path}: not a regular file`);
    // Refuse before reading: a runaway file must not be pulled into memory.
    if (st.size > MAX_FILE_BYTES) return new Uint8Array(MAX_FILE_BYTES + 1);
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof InputError) throw err;
    throw new InputError('E_LEDGER_READ', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Loads the ledger in `dir` (a directory holding `bans/`). */
export async function loadLedgerFromDir(dir: string): Promise<LoadResult> {
  const bansDir = await stat(join(dir, 'bans')).catch(() => null);
  if (!bansDir?.isDirectory()) throw new InputError('E_LEDGER_MISSING', `${dir}: no bans/ directory here; not a fail2git ledger`);
  const files: Record<string, Uint8Array | null> = {};
  for (const f of FILE_ORDER) files[f] = await readLedgerFile(join(dir, f));
  return parseLedgerFiles(files, { dir });
}

function git(repoDir: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', ['-C', repoDir, ...args], { encoding: 'buffer', maxBuffer: 4 * MAX_FILE_BYTES + 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.toString('utf8').trim().split('\n')[0] || err.message.split('\n')[0];
        reject(new Fail2gitError('E_GIT', `git ${args[0] ?? ''} in ${repoDir} failed: ${why}`));
      } else {
        resolve(stdout);
      }
    });
    // A command that exits without reading stdin must not crash us with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

const FULL_ID = /^[0-9a-f]{40}$/;

async function resolveCommit(repoDir: string, rev: string): Promise<string> {
  if (rev === '' || rev.startsWith('-') || /[\s\0]/.test(rev)) throw new InputError('E_REV_UNKNOWN', `${JSON.stringify(rev)} is not a git revision`);
  try {
    const out = await git(repoDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    return out.toString('utf8').trim();
  } catch (err) {
    if (/not a git repository|cannot change to/i.test((err as Error).message)) {
      throw new InputError('E_NOT_GIT', `${repoDir}: not a git repository (--rev reads a commit from one)`);
    }
    throw new Fail2gitError('E_REV_UNKNOWN', `${repoDir}: unknown revision "${rev}" (no such commit)`);
  }
}

interface TreeEntry {
  mode: string;
  type: string;
  size: number;
}

/** `git ls-tree -z -l` output: path → mode, type and size (`-` for trees and submodules). */
export function parseLsTree(out: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const rec of out.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', type = '', , size = '-'] = rec.slice(0, tab).split(/ +/);
    entries.set(rec.slice(tab + 1), { mode, type, size: size === '-' ? 0 : Number(size) });
  }
  return entries;
}

const MODE_NAMES: Record<string, string> = { '120000': 'a symbolic link', '160000': 'a submodule', '040000': 'a directory' };

/**
 * Only regular files (mode 100644 or 100755) are ledger files. A symlink's blob is its
 * target's name, a submodule has no content here: read as data, either would be enforced
 * (or read as "no bans") although a checkout-based validate refuses it. Same verdict here.
 */
function notRegular(path: string, e: TreeEntry, commit: string): Problem | undefined {
  if (e.type === 'blob' && (e.mode === '100644' || e.mode === '100755')) return undefined;
  const what = MODE_NAMES[e.mode] ?? `a ${e.type} (mode ${e.mode})`;
  return { file: path, line: 1, col: 1, code: 'E_NOT_REGULAR_FILE', message: `is ${what} at ${commit.slice(0, 12)}; ledger files must be regular files` };
}

/** Reads the four files as they are at `rev`; source.rev is the full commit id. */
export async function loadLedgerFromGit(repoDir: string, rev: string): Promise<LoadResult> {
  const lsTree = (commit: string, paths: readonly string[]) => git(repoDir, ['ls-tree', '-z', '-l', '--full-tree', commit, '--', ...paths]).then((out) => parseLsTree(out.toString('utf8')));
  // A full commit id (what the reconciler passes) names itself: the two listings start beside
  // the check that it is a commit instead of after it. Their answers count only once it is one.
  const early = FULL_ID.test(rev) ? [lsTree(rev, ['bans']), lsTree(rev, FILE_ORDER)] as const : undefined;
  early?.forEach((p) => p.catch(() => undefined)); // awaited below, unless rev is no commit
  const commit = await resolveCommit(repoDir, rev);
  const same = early !== undefined && commit === rev;
  const top = (await (same ? early[0] : lsTree(commit, ['bans']))).get('bans');
  const problems: Problem[] = [];
  if (top && top.type !== 'tree') problems.push({ ...notRegular('bans', top, commit)!, message: `is ${MODE_NAMES[top.mode] ?? `a ${top.type}`} at ${commit.slice(0, 12)}; bans/ must be a directory` });
  const tree = top?.type === 'tree' ? await (same ? early[1] : lsTree(commit, FILE_ORDER)) : new Map<string, TreeEntry>();
  const files: Record<string, Uint8Array | null> = {};
  const wanted: { path: string; size: number }[] = [];
  for (const path of FILE_ORDER) {
    const e = tree.get(path);
    const bad = e && notRegular(path, e, commit);
    if (!e) files[path] = null;
    else if (bad) problems.push(bad);
    else if (e.size > MAX_FILE_BYTES) files[path] = new Uint8Array(MAX_FILE_BYTES + 1);
    else wanted.push({ path, size: e.size });
  }
  if (wanted.length > 0) {
    // cat-file prints the blob as stored: no .gitattributes filter, eol or encoding applies.
    const out = await git(repoDir, ['cat-file', '--batch'], wanted.map((b) => `${commit}:${b.path}`).join('\n') + '\n');
    let pos = 0;
    for (const b of wanted) {
      pos = out.indexOf(0x0a, pos) + 1; // skip "<oid> blob <size>\n"
      files[b.path] = out.subarray(pos, pos + b.size);
      pos += b.size + 1;
    }
  }
  const result = parseLedgerFiles(files, { dir: repoDir, rev: commit });
  return problems.length === 0 ? result : { ...result, problems: orderProblems([...problems, ...result.problems]) };
}
