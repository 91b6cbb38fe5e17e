/**
 * Signed ledger commits (SSH signatures, `gpg.format=ssh`).
 *
 * Writers sign with the key the host config names (`signingKey`). Reconcilers that set
 * `requireSignedCommits` enforce a new tip only when every commit on the first-parent path
 * from the last good commit (exclusive) to the tip (inclusive) carries a good signature by
 * a key in the host's `allowedSigners` file, AND the signer's principal matches the
 * commit's committer e-mail. Trust lives on the host, never in the ledger.
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
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { execRunner, ExecError, type Runner } from '../lib/exec.js';

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

/** One commit's signature as git reports it (`%G?`, `%GK`, `%GS`). */
export interface CommitSignature {
  sha: string;
  /** git's verdict: G good, B bad, U good but unknown key, N none, E cannot check, X/Y expired, R revoked */
  status: string;
  /** key fingerprint (SHA256:…) when signed */
  key: string;
  /** principal from allowed_signers when the key is known */
  principal: string;
  committer: string;
  committerEmail: string;
}

export type VerifyCode =
  | 'E_SIG_UNSIGNED'
  | 'E_SIG_UNKNOWN_KEY'
  | 'E_SIG_BAD'
  | 'E_SIG_IDENTITY'
  | 'E_SIG_NOT_DESCENDANT'
  | 'E_SIG_NO_SIGNERS'
  | 'E_SIG_GIT';

export interface VerifyResult {
  ok: boolean;
  /** why it was held (absent when ok) */
  code?: VerifyCode;
  /** one line: what was accepted, or which commit was held and why */
  reason: string;
  /** who signed the tip: `principal (SHA256:…)`, or `unsigned` */
  signer: string;
  /** every commit checked, newest first */
  commits: CommitSignature[];
}

const FIELD = '\x1f';
const RECORD = '\x1e';
export const SIGNATURE_LOG_FORMAT = ['%H', '%G?', '%GK', '%GS', '%cn', '%ce'].join('%x1f') + '%x1e';

/** Parses `git log --format=SIGNATURE_LOG_FORMAT` output. */
export function parseSignatureLog(text: string): CommitSignature[] {
  return text
    .split(RECORD)
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((r) => {
      const [sha = '', status = 'N', key = '', principal = '', committer = '', committerEmail = ''] = r.split(FIELD);
      return { sha, status, key, principal, committer, committerEmail };
    });
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

function describeSigner(c: CommitSignature): string {
  if (c.status === 'N' || c.key === '') return 'unsigned';
  return c.principal ? `${c.principal} (${c.key})` : `unknown key ${c.key}`;
}

/** Why one commit is not acceptable, or undefined when it is. */
export function judgeCommit(c: CommitSignature): { code: VerifyCode; why: string } | undefined {
  const who = `${c.committer} <${c.committerEmail}>`;
  const id = `commit ${c.sha.slice(0, 12)} by ${who}`;
  switch (c.status) {
    case 'G':
      if (principalMatches(c.principal, c.committerEmail)) return undefined;
      return { code: 'E_SIG_IDENTITY', why: `${id} is signed by ${c.principal} (${c.key}), not by the committer` };
    case 'N':
      return { code: 'E_SIG_UNSIGNED', why: `${id} is not signed` };
    case 'U':
      return { code: 'E_SIG_UNKNOWN_KEY', why: `${id} is signed by ${c.key}, a key not in allowedSigners` };
    case 'X': case 'Y':
      return { code: 'E_SIG_BAD', why: `${id} has an expired signature (${c.key})` };
    case 'R':
      return { code: 'E_SIG_BAD', why: `${id} is signed by revoked key ${c.key}` };
    case 'E':
      return { code: 'E_SIG_BAD', why: `${id} has a signature that cannot be checked (not an SSH signature?)` };
    default:
      return { code: 'E_SIG_BAD', why: `${id} has a bad signature (${c.key || 'no key'})` };
  }
}

/** The rule over a range (newest first): every commit must pass; the oldest failure is reported. */
export function judgeRange(commits: CommitSignature[]): VerifyResult {
  const tip = commits[0];
  const signer = tip ? describeSigner(tip) : 'unsigned';
  // Report the oldest offender: it is where trust was lost, and fixing it is what unblocks.
  for (const c of [...commits].reverse()) {
    const bad = judgeCommit(c);
    if (bad) return { ok: false, code: bad.code, reason: `held: ${bad.why}`, signer, commits };
  }
  const n = commits.length;
  const what = n === 1 ? 'the tip' : `all ${n} new commits`;
  return { ok: true, reason: `${what} signed by allowed keys (tip: ${signer})`, signer, commits };
}

export interface VerifyOptions {
  run?: Runner;
  timeoutMs?: number;
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
  allowedSignersPath: string,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const held = (code: VerifyCode, reason: string): VerifyResult => ({ ok: false, code, reason: `held: ${reason}`, signer: 'unknown', commits: [] });
  try {
    accessSync(allowedSignersPath, constants.R_OK);
  } catch {
    return held('E_SIG_NO_SIGNERS', `allowedSigners file ${allowedSignersPath} is missing or unreadable`);
  }
  const run = opts.run ?? execRunner;
  const git = (...args: string[]) =>
    run('git', ['-c', `gpg.ssh.allowedSignersFile=${resolve(allowedSignersPath)}`, '-c', 'gpg.ssh.program=ssh-keygen', ...args], {
      cwd: repoDir,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  try {
    if (lastGood && lastGood !== tip) {
      const isAncestor = await git('merge-base', '--is-ancestor', lastGood, tip).then(() => true, (e: unknown) => {
        if (e instanceof ExecError && e.exitCode === 1) return false;
        throw e;
      });
      if (!isAncestor) return held('E_SIG_NOT_DESCENDANT', `tip ${tip.slice(0, 12)} does not descend from the last good commit ${lastGood.slice(0, 12)} (history rewritten or rolled back)`);
    }
    const range = lastGood && lastGood !== tip ? ['--first-parent', `${lastGood}..${tip}`] : ['-1', tip];
    const { stdout } = await git('log', `--format=${SIGNATURE_LOG_FORMAT}`, ...range, '--');
    return judgeRange(parseSignatureLog(stdout));
  } catch (err) {
    return held('E_SIG_GIT', `cannot read commits in ${repoDir}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * The reconciler's `verifyCommit` hook: `verifyCommit: signatureVerifier(ledgerClonePath(cfg),
 * cfg.allowedSigners)` when `cfg.requireSignedCommits`. The message names the held commit,
 * why, and who signed the tip.
 */
export function signatureVerifier(repoDir: string, allowedSignersPath: string, opts: VerifyOptions = {}) {
  return async (tip: string, lastGood: string | undefined): Promise<{ ok: true } | { ok: false; message: string }> => {
    const r = await verifyCommits(repoDir, lastGood, tip, allowedSignersPath, opts);
    return r.ok ? { ok: true } : { ok: false, message: `${r.reason} (tip signed by: ${r.signer})` };
  };
}
