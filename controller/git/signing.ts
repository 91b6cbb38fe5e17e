/**
 * Signed ledger commits (SSH signatures, `gpg.format=ssh`).
 *
 * Writers sign with the key the host config names (`signingKey`). Reconcilers that set
 * `requireSignedCommits` enforce a new tip only when every commit on the first-parent path
 * from the last good commit (exclusive) to the tip (inclusive) carries a good signature by
 * a key in the host's `adminSigners` or `allowedSigners` file, AND the signer's principal
 * matches the commit's committer e-mail, AND the commit stays within its signer's role
 * (controller/ledger/roles.ts). Trust lives on the host, never in the ledger.
 *
 * The verification is ours, not git's (`git verify-commit`, `%G?`): git would accept an
 * OpenPGP or X.509 signature the service user's keyrings trust, and it checks an SSH key's
 * `valid-after`/`valid-before` at the committer date, which the signer writes. Here the
 * signature is cut out of the commit object, only `-----BEGIN SSH SIGNATURE-----` counts, and
 * `ssh-keygen -Y verify` judges it with `-Overify-time` set to the time of verification.
 * A commit whose committer date is earlier than its first parent's (the last good commit's,
 * for the oldest new one) is held too: dates on the enforced path only move forward.
 *
 * Why every commit and not only the tip: writers (hooks, `fail2git ban`, gc) fetch, reset to
 * the remote tip and commit on top without reviewing what is there, so a host's signature on
 * the tip would launder an unsigned commit pushed just before it. Why first-parent only: a
 * signed merge commit is the reviewer vouching for the merged tree, so the commits of a pull
 * request branch need no signatures of their own; anything pushed straight to the branch is on
 * the first-parent path and must be signed. Why the principal must match the committer: git
 * checks that *some* allowed key signed, not that the claimed person did; a valid key of bob's
 * on a commit claiming to be alice's is a forgery and is held.
 */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { errorMessage, type ErrorCode } from '../lib/errors.js';
import { execRunner, ExecError, type Runner } from '../lib/exec.js';
import { LEDGER_FILES, type BanEntry } from '../ledger/types.js';
import type { LedgerSnapshot, SignerRole } from '../ledger/roles.js';

/** git `-c` options that make a writer sign its commits with the host's SSH key. */
export function signingArgs(cfg: { signingKey?: string | undefined }): string[] {
  if (!cfg.signingKey) return [];
  return [
    '-c', 'gpg.format=ssh',
    '-c', `user.signingkey=${resolve(cfg.signingKey)}`,
    '-c', 'commit.gpgsign=true',
    // A ledger clone's own config must never choose the program that signs or verifies.
    '-c', 'gpg.ssh.program=ssh-keygen',
  ];
}

/** ssh allowed_signers principals are comma-separated patterns (`*`, `?`, `!negation`). */
export function principalMatches(principals: string, email: string): boolean {
  const want = email.toLowerCase();
  let matched = false;
  for (const raw of principals.split(',')) {
    const neg = raw.startsWith('!');
    const pat = (neg ? raw.slice(1) : raw).trim().toLowerCase();
    if (pat === '') continue;
    const re = new RegExp('^' + pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    if (re.test(want)) {
      if (neg) return false;
      matched = true;
    }
  }
  return matched;
}

/** The signature codes of ERROR_CODES (controller/lib/errors.ts). */
export type VerifyCode = Extract<ErrorCode,
  'E_SIG_UNSIGNED'
  | 'E_SIG_UNKNOWN_KEY'
  | 'E_SIG_EXPIRED'
  | 'E_SIG_IDENTITY'
  | 'E_SIG_TYPE'
  | 'E_SIG_BAD'
  | 'E_SIG_DATE'
  | 'E_SIG_ROLE'
  | 'E_SIG_NOT_DESCENDANT'
  | 'E_SIG_NO_SIGNERS'
  | 'E_SIG_GIT'
>;

/** The rule each code stands for, as messages name it. */
export const RULE_NAMES: Record<VerifyCode, string> = {
  E_SIG_UNSIGNED: 'unsigned',
  E_SIG_UNKNOWN_KEY: 'unknown key',
  E_SIG_EXPIRED: 'expired key',
  E_SIG_IDENTITY: 'wrong principal',
  E_SIG_TYPE: 'wrong signature type',
  E_SIG_BAD: 'bad signature',
  E_SIG_DATE: 'committer date goes back',
  E_SIG_ROLE: "outside the signer's role",
  E_SIG_NOT_DESCENDANT: 'not a descendant',
  E_SIG_NO_SIGNERS: 'no signers file',
  E_SIG_GIT: 'git error',
};

export type SignatureKind = 'ssh' | 'openpgp' | 'x509' | 'unknown';

/** Which kind of signature an armored `gpgsig` header holds. */
export function signatureKind(sig: string): SignatureKind {
  const first = sig.trimStart().split('\n', 1)[0]?.trim() ?? '';
  if (first === '-----BEGIN SSH SIGNATURE-----') return 'ssh';
  if (first === '-----BEGIN PGP SIGNATURE-----' || first === '-----BEGIN PGP MESSAGE-----') return 'openpgp';
  if (first === '-----BEGIN SIGNED MESSAGE-----' || first === '-----BEGIN PKCS7-----' || first === '-----BEGIN CMS-----') return 'x509';
  return 'unknown';
}

/** One commit object, split as git splits it for verification. */
export interface CommitObject {
  sha: string;
  tree: string;
  parents: string[];
  committer: string;
  committerEmail: string;
  /** committer date, seconds since the epoch */
  committerTime: number;
  /** the object without its signature headers: what the signer signed */
  payload: string;
  /** the armored signature for this repository's hash, when there is one */
  signature?: string;
}

/**
 * Splits `git cat-file commit` output (as git's parse_buffer_signed_by_header does): every
 * `gpgsig*` header and its continuation lines leave the payload; the one for the
 * repository's hash (`gpgsig` for SHA-1, `gpgsig-sha256` for SHA-256) is the signature.
 */
export function parseCommitObject(sha: string, raw: string): CommitObject {
  const sigHeader = sha.length === 64 ? 'gpgsig-sha256' : 'gpgsig';
  const end = raw.indexOf('\n\n');
  const head = end < 0 ? raw : raw.slice(0, end + 1);
  const rest = end < 0 ? '' : raw.slice(end + 1);
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  let inOther = false;
  const out: CommitObject = { sha, tree: '', parents: [], committer: '', committerEmail: '', committerTime: 0, payload: '' };
  for (const line of head.split(/(?<=\n)/)) {
    if (line.startsWith(' ') && (inSig || inOther)) {
      if (inSig) sig.push(line.slice(1));
      continue;
    }
    inSig = line.startsWith(`${sigHeader} `);
    inOther = !inSig && line.startsWith('gpgsig');
    if (inSig) {
      sig.push(line.slice(sigHeader.length + 1));
      continue;
    }
    if (inOther) continue;
    kept.push(line);
    const [key, ...value] = line.replace(/\n$/, '').split(' ');
    if (key === 'tree') out.tree = value.join(' ');
    else if (key === 'parent') out.parents.push(value.join(' '));
    else if (key === 'committer') {
      const m = /^(.*) <([^>]*)> (\d+) [+-]\d{4}$/.exec(value.join(' '));
      if (m) {
        out.committer = m[1]!;
        out.committerEmail = m[2]!;
        out.committerTime = Number(m[3]);
      }
    }
  }
  out.payload = kept.join('') + rest;
  if (sig.length > 0) out.signature = sig.join('');
  return out;
}

/** ssh-keygen's -Overify-time: UTC, to the second. */
export function sshVerifyTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** One file of trusted keys and the role its keys sign in. */
export interface SignersFile {
  path: string;
  /** the host config key that names it, for messages */
  key: 'allowedSigners' | 'adminSigners';
  role: SignerRole;
}

export type SshVerdict =
  | { ok: true; role: SignerRole; key: string; file: SignersFile }
  | { ok: false; code: VerifyCode; why: string; signer: string };

const FINGERPRINT = /\b(SHA256:[A-Za-z0-9+/=]+)/;

/**
 * Judges one SSH signature over `payload` for the committer `email`, at `at`: the first
 * signers file whose key, principal and validity accept it decides the role. When none does,
 * says why: a bad signature, an expired (or not yet valid) key, a known key for another
 * principal, or an unknown key.
 */
export async function checkSshSignature(
  payload: string, signature: string, email: string, files: readonly SignersFile[], at: Date, run: Runner, workDir: string,
): Promise<SshVerdict> {
  const sigFile = join(workDir, 'commit.sig');
  writeFileSync(sigFile, signature, { mode: 0o600 });
  const time = `-Overify-time=${sshVerifyTime(at)}`;
  const keygen = (args: string[], input?: string) =>
    run('ssh-keygen', args, { timeoutMs: 30_000, ...(input !== undefined && { input }) }).then(
      (r) => ({ ok: true, stdout: r.stdout, stderr: r.stderr }),
      (e: unknown) => {
        if (e instanceof ExecError && e.code === 'E_EXEC_FAILED') return { ok: false, stdout: '', stderr: e.stderr };
        throw e;
      },
    );
  for (const f of files) {
    const r = await keygen(['-Y', 'verify', '-f', f.path, '-I', email, '-n', 'git', '-s', sigFile, time], payload);
    if (r.ok) return { ok: true, role: f.role, key: FINGERPRINT.exec(r.stdout)?.[1] ?? 'unknown', file: f };
  }
  const check = await keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', sigFile], payload);
  if (!check.ok) return { ok: false, code: 'E_SIG_BAD', why: 'has an SSH signature that does not match the commit (or was not made for git)', signer: 'bad signature' };
  const key = FINGERPRINT.exec(check.stdout)?.[1] ?? 'unknown';
  const expired: string[] = [];
  for (const f of files) {
    const r = await keygen(['-Y', 'find-principals', '-f', f.path, '-s', sigFile, time]);
    const principals = r.stdout.trim().split('\n').filter((p) => p !== '');
    if (r.ok && principals.length > 0) {
      // An e-mail differs from its allowed_signers line only in case (ssh-keygen compares exactly).
      const same = principals.flatMap((p) => p.split(',')).find((p) => !/[*?!]/.test(p) && principalMatches(p, email));
      if (same) {
        const again = await keygen(['-Y', 'verify', '-f', f.path, '-I', same, '-n', 'git', '-s', sigFile, time], payload);
        if (again.ok) return { ok: true, role: f.role, key, file: f };
      }
      return { ok: false, code: 'E_SIG_IDENTITY', signer: `${principals.join(',')} (${key})`, why: `is signed by ${principals.join(',')} (${key}, ${f.key}), not by the committer` };
    }
    const line = r.stderr.split('\n').find((l) => /key has expired|key is not yet valid|key not yet valid/.test(l));
    if (line) expired.push(`${f.key} ${line.trim()}`);
  }
  if (expired.length > 0) return { ok: false, code: 'E_SIG_EXPIRED', signer: `expired key ${key}`, why: `is signed by ${key}, a key not valid at ${at.toISOString()} (${expired[0]})` };
  return { ok: false, code: 'E_SIG_UNKNOWN_KEY', signer: `unknown key ${key}`, why: `is signed by ${key}, a key ${files.length === 1 ? `not in ${files[0]!.key}` : `in neither ${files.map((f) => f.key).join(' nor ')}`}` };
}

/** One commit the check looked at. */
export interface CommitCheck {
  sha: string;
  committer: string;
  committerEmail: string;
  /** `principal (SHA256:…) as writer`, `unsigned`, … */
  signer: string;
  role?: SignerRole;
}

export interface VerifyResult {
  ok: boolean;
  /** why it was held (absent when ok) */
  code?: VerifyCode;
  /** one line: what was accepted, or which commit was held, by which rule, and why */
  reason: string;
  /** who signed the tip: `principal (SHA256:…)`, or `unsigned` */
  signer: string;
  /** every commit checked, newest first */
  commits: CommitCheck[];
  /** for a role violation: the file the commit may not change */
  file?: string;
}

export interface VerifyOptions {
  run?: Runner;
  timeoutMs?: number;
  /** the time of verification (key validity is judged then); default: now */
  now?: Date;
}

/** Which files of keys count, and in which role. Without adminSigners every allowed key is an admin (the model before roles). */
export interface Signers {
  allowedSigners: string;
  adminSigners?: string | undefined;
}

export function signersFiles(s: Signers): SignersFile[] {
  if (!s.adminSigners) return [{ path: resolve(s.allowedSigners), key: 'allowedSigners', role: 'admin' }];
  return [
    { path: resolve(s.adminSigners), key: 'adminSigners', role: 'admin' },
    { path: resolve(s.allowedSigners), key: 'allowedSigners', role: 'writer' },
  ];
}

/**
 * Checks the commits a reconciler is about to enforce. `lastGood` is the commit it enforced
 * last (undefined on the first run: then only the tip is checked). A tip that does not
 * descend from `lastGood` (a force-push or rollback) is held: replaying an old signed state
 * would resurrect lifted allowlist entries or removed targets.
 */
export async function verifyCommits(
  repoDir: string,
  lastGood: string | undefined,
  tip: string,
  signers: string | Signers,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const files = signersFiles(typeof signers === 'string' ? { allowedSigners: signers } : signers);
  const held = (code: VerifyCode, reason: string, commits: CommitCheck[] = [], signer = 'unknown'): VerifyResult =>
    ({ ok: false, code, reason: `held (${RULE_NAMES[code]}): ${reason}`, signer, commits });
  for (const f of files) {
    try {
      accessSync(f.path, constants.R_OK);
    } catch {
      return held('E_SIG_NO_SIGNERS', `${f.key} file ${f.path} is missing or unreadable`);
    }
  }
  const run = opts.run ?? execRunner;
  const now = opts.now ?? new Date();
  const git = (...args: string[]) => run('git', args, { cwd: repoDir, timeoutMs: opts.timeoutMs ?? 60_000 });
  const work = mkdtempSync(join(tmpdir(), 'f2g-verify-'));
  try {
    if (lastGood && lastGood !== tip) {
      const isAncestor = await git('merge-base', '--is-ancestor', lastGood, tip).then(() => true, (e: unknown) => {
        if (e instanceof ExecError && e.exitCode === 1) return false;
        throw e;
      });
      if (!isAncestor) return held('E_SIG_NOT_DESCENDANT', `tip ${tip.slice(0, 12)} does not descend from the last good commit ${lastGood.slice(0, 12)} (history rewritten or rolled back)`);
    }
    const range = lastGood && lastGood !== tip ? ['--first-parent', `${lastGood}..${tip}`] : ['-1', tip];
    const shas = (await git('rev-list', ...range, '--')).stdout.split('\n').filter((l) => l !== '');
    const read = async (sha: string) => parseCommitObject(sha, (await git('cat-file', 'commit', sha)).stdout);
    let previousTime = lastGood && lastGood !== tip ? (await read(lastGood)).committerTime : undefined;
    const checks: CommitCheck[] = [];
    const treeCache = new Map<string, Promise<Map<string, string>>>();
    const trees = (sha: string) => {
      let t = treeCache.get(sha);
      if (!t) treeCache.set(sha, (t = readTree(sha, git)));
      return t;
    };
    // Oldest first: the first offender is where trust was lost, and fixing it is what unblocks.
    for (const sha of [...shas].reverse()) {
      const o = await read(sha);
      const c: CommitCheck = { sha: o.sha, committer: o.committer, committerEmail: o.committerEmail, signer: 'unsigned' };
      checks.unshift(c);
      const id = `commit ${o.sha.slice(0, 12)} by ${o.committer} <${o.committerEmail}>`;
      const stop = async (code: VerifyCode, why: string, file?: string): Promise<VerifyResult> => {
        const tipSigner = sha === shas[0] ? c.signer : await describeSignature(await read(shas[0]!), files, now, run, work);
        const r = held(code, `${id} ${why}`, checks, tipSigner);
        return file ? { ...r, file } : r;
      };
      const v = await judgeSignature(o, files, now, run, work);
      c.signer = v.signer;
      if (!v.ok) return await stop(v.code, v.why);
      c.role = v.role;
      if (previousTime !== undefined && o.committerTime < previousTime) {
        return await stop('E_SIG_DATE', `has committer date ${iso(o.committerTime)}, earlier than ${iso(previousTime)} of the commit before it (dates on the enforced path never go back)`);
      }
      previousTime = o.committerTime;
      if (v.role === 'writer') {
        const at = new Date(Math.min(o.committerTime * 1000, now.getTime()));
        const verdict = await judgeWriterCommit(o.parents[0], o.sha, at, trees, git);
        if (!verdict.ok) return await stop('E_SIG_ROLE', `(signed by ${c.signer}) ${verdict.why}`, verdict.file);
      }
    }
    const tipSigner = checks[0]?.signer ?? 'unsigned';
    if (!lastGood && files.length > 1 && checks[0]?.role === 'writer') {
      const unvouched = await firstRunAnchor(tip, files, now, run, work, git, read);
      if (unvouched) return { ...held('E_SIG_ROLE', unvouched.why, checks, tipSigner), file: unvouched.file };
    }
    const n = checks.length;
    const what = n === 1 ? 'the tip' : `all ${n} new commits`;
    return { ok: true, reason: `${what} signed by allowed keys (tip: ${tipSigner})`, signer: tipSigner, commits: checks };
  } catch (err) {
    return held('E_SIG_GIT', `cannot read commits in ${repoDir}: ${errorMessage(err)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** How far back a first run looks for an admin's signature over the newest change outside the ban list. */
export const FIRST_RUN_VOUCH_LIMIT = 200;

/**
 * A host's first run (no last good commit) checks only the tip's signature, so with roles it
 * must still know that the allowlist, policy and targets it is about to trust are an admin's:
 * the newest first-parent commit that changed anything but bans/active.yaml must be signed by
 * an admin, or be followed (on the first-parent path to the tip) by an admin-signed commit,
 * such as a reviewer's merge or an empty "vouch" commit. Returns why not, or undefined.
 */
async function firstRunAnchor(
  tip: string, files: readonly SignersFile[], now: Date, run: Runner, work: string, git: Git, read: (sha: string) => Promise<CommitObject>,
): Promise<{ why: string; file: string } | undefined> {
  const changed = (await git('log', '--first-parent', '-1', '--format=%H', tip, '--', '.', `:(exclude)${LEDGER_FILES.bans}`)).stdout.trim();
  if (!changed) return undefined;
  const path = (await git('rev-list', '--first-parent', tip, '--')).stdout.split('\n').filter((l) => l !== '');
  const at = path.indexOf(changed);
  const candidates = (at < 0 ? [] : path.slice(0, at + 1).reverse()).slice(0, FIRST_RUN_VOUCH_LIMIT);
  for (const sha of candidates) {
    const v = await judgeSignature(await read(sha), files, now, run, work);
    if (v.ok && v.role === 'admin') return undefined;
  }
  const c = await read(changed);
  const v = await judgeSignature(c, files, now, run, work);
  const list = (await git('diff-tree', '--no-commit-id', '--name-only', '-r', '--root', '-m', '--first-parent', changed)).stdout.split('\n').filter((f) => f !== '' && f !== LEDGER_FILES.bans);
  return {
    file: list[0] ?? LEDGER_FILES.bans,
    why: `commit ${changed.slice(0, 12)} by ${c.committer} <${c.committerEmail}> (${v.signer}) changes ${list[0] ?? 'files besides ' + LEDGER_FILES.bans}, and no admin has signed it or a commit after it; on its first run this host trusts allow.yaml, policy.yaml and targets.yaml only as an admin left them (an admin-signed merge or commit on top vouches for them)`,
  };
}

type SignatureVerdict = { ok: true; role: SignerRole; signer: string } | { ok: false; code: VerifyCode; why: string; signer: string };

/** One commit's signature: present, SSH, and accepted by one of the signers files. */
async function judgeSignature(o: CommitObject, files: readonly SignersFile[], now: Date, run: Runner, work: string): Promise<SignatureVerdict> {
  if (!o.signature) return { ok: false, code: 'E_SIG_UNSIGNED', why: 'is not signed', signer: 'unsigned' };
  const kind = signatureKind(o.signature);
  if (kind !== 'ssh') {
    const name = kind === 'openpgp' ? 'an OpenPGP' : kind === 'x509' ? 'an X.509' : 'an unrecognised';
    return { ok: false, code: 'E_SIG_TYPE', why: `has ${name} signature; only SSH signatures by keys in ${files.map((f) => f.key).join(' or ')} count`, signer: `${kind} signature` };
  }
  const v = await checkSshSignature(o.payload, o.signature, o.committerEmail, files, now, run, work);
  if (!v.ok) return v;
  return { ok: true, role: v.role, signer: `${o.committerEmail} (${v.key}${files.length > 1 ? `, ${v.role}` : ''})` };
}

async function describeSignature(o: CommitObject, files: readonly SignersFile[], now: Date, run: Runner, work: string): Promise<string> {
  return (await judgeSignature(o, files, now, run, work)).signer;
}

const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

type Git = (...args: string[]) => Promise<{ stdout: string }>;

/** A commit's whole tree: path → `mode type oid`. */
async function readTree(sha: string, git: Git): Promise<Map<string, string>> {
  const tree = new Map<string, string>();
  for (const rec of (await git('ls-tree', '-r', '-z', '--full-tree', sha)).stdout.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab > 0) tree.set(rec.slice(tab + 1), rec.slice(0, tab));
  }
  return tree;
}

/** A ledger file's text in a tree: null when absent, undefined when not a regular file. */
async function fileText(tree: ReadonlyMap<string, string>, path: string, git: Git): Promise<string | null | undefined> {
  const entry = tree.get(path);
  if (!entry) return null;
  const [mode = '', type = '', oid = ''] = entry.split(/\s+/);
  if (type !== 'blob' || (mode !== '100644' && mode !== '100755')) return undefined;
  let text = blobCache.get(oid);
  if (!text) blobCache.set(oid, (text = git('cat-file', 'blob', oid).then((r) => r.stdout)));
  if (blobCache.size > 8) blobCache.delete(blobCache.keys().next().value!);
  return text;
}

/** The last few blobs read (a ban list is read as one commit's "after" and the next one's "before"). */
const blobCache = new Map<string, Promise<string>>();

/**
 * The role check of one writer-signed commit against its first parent. Only bans/active.yaml
 * and policy.yaml are read, and the ban lists by their differing lines when they can be.
 */
async function judgeWriterCommit(parent: string | undefined, sha: string, at: Date, trees: (sha: string) => Promise<Map<string, string>>, git: Git) {
  const { judgeRole, diffBanLines } = await import('../ledger/roles.js');
  const { parseBanList } = await import('../ledger/banlist.js');
  const { parsePolicy } = await import('../ledger/documents.js');
  const afterTree = await trees(sha);
  const beforeTree = parent ? await trees(parent) : undefined;
  const policyText = await fileText(afterTree, LEDGER_FILES.policy, git);
  const policy = parsePolicy(typeof policyText === 'string' ? policyText : 'apiVersion: fail2git/v1\nkind: Policy\nspec: {}\n').policy;
  const snap = (tree: Map<string, string>, bans: BanEntry[] | undefined): LedgerSnapshot => ({ tree, bans, policy });
  const sameBans = beforeTree?.get(LEDGER_FILES.bans) === afterTree.get(LEDGER_FILES.bans);
  if (sameBans) return judgeRole(beforeTree && snap(beforeTree, []), snap(afterTree, []), 'writer', at);
  const full = (text: string | null | undefined): BanEntry[] | undefined => {
    if (text === null) return [];
    if (text === undefined) return undefined;
    const parsed = parseBanList(text);
    return parsed.problems.length > 0 ? undefined : parsed.bans;
  };
  const afterText = await fileText(afterTree, LEDGER_FILES.bans, git);
  const beforeText = beforeTree ? await fileText(beforeTree, LEDGER_FILES.bans, git) : null;
  // Only the differing lines when every one of them is an entry (the tip itself is fully
  // validated before this check runs); else the whole files.
  const diff = typeof afterText === 'string' && typeof beforeText === 'string' ? diffBanLines(beforeText, afterText) : null;
  if (diff) return judgeRole(beforeTree && snap(beforeTree, diff.removed), snap(afterTree, diff.added), 'writer', at);
  return judgeRole(beforeTree && snap(beforeTree, full(beforeText)), snap(afterTree, full(afterText)), 'writer', at);
}

/** The reconciler's `verifyCommit` hook; the message names the held commit, the rule, and who signed the tip. */
export function signatureVerifier(repoDir: string, signers: string | Signers, opts: VerifyOptions = {}) {
  return async (tip: string, lastGood: string | undefined, now?: Date): Promise<{ ok: true } | { ok: false; message: string }> => {
    const r = await verifyCommits(repoDir, lastGood, tip, signers, { ...opts, ...(now && { now }) });
    return r.ok ? { ok: true } : { ok: false, message: `${r.reason} (tip signed by: ${r.signer})` };
  };
}
