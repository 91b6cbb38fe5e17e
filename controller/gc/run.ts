/**
 * Runs gc against the ledger remote with the writer protocol (controller/git/commit.ts):
 * fetch the tip, plan the removal on the file at that tip, commit, push; a lost race starts
 * over from the new tip, where the winner's gc already removed the lines, so the loser finds
 * nothing left and commits nothing. Several hosts may therefore run gc at once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lenientDocuments } from '../ledger/yaml-parse.js';
import { commitAndPush, ensureWriterRepo, fetchRemoteTip, readAt, type WriterRepo } from '../git/commit.js';
import { waitLock } from '../lib/lock.js';
import { TransientError, InputError } from '../lib/errors.js';
import { parseDuration, formatDuration } from '../lib/duration.js';
import { DEFAULT_POLICY, LEDGER_FILES, type BanEntry, type Ledger } from '../ledger/types.js';
import { gcCutoff, gcMessage, planGc, type Expired } from './plan.js';

export interface GcOptions {
  remote: string;
  branch: string;
  /** this host: the commit's author and the trailers' Fail2git-Host */
  host: string;
  stateDir: string;
  /** overrides the policy's gcGrace */
  graceMs?: number;
  dryRun?: boolean;
  signingKey?: string | undefined;
  now?: () => Date;
}

export interface GcResult {
  /** the pushed commit, or null (nothing to do, dry run, or another host was first) */
  commit: string | null;
  expired: Expired[];
  /** entries with an expiry gc could not read; kept */
  unreadable: number;
  grace: string;
  tip: string;
  attempts: number;
  dryRun: boolean;
}

function writerRepo(opts: GcOptions): WriterRepo {
  // Its own bare repository: gc never shares a fetch ref or index with the hook's flusher.
  return { dir: join(opts.stateDir, 'gc.git'), remote: opts.remote, branch: opts.branch };
}

/** The grace period: the flag, else the ledger's policy `gcGrace`, else the default. */
export function graceFrom(policyText: string | null, override?: number): number {
  if (override !== undefined) return override;
  let text = DEFAULT_POLICY.gcGrace;
  // An unreadable policy is validate's business; gc falls back to the default grace.
  const doc = policyText ? (lenientDocuments(policyText)[0] as { spec?: { gcGrace?: unknown } } | null | undefined) : undefined;
  if (typeof doc?.spec?.gcGrace === 'string') text = doc.spec.gcGrace;
  return parseDuration(text);
}

export async function runGc(opts: GcOptions): Promise<GcResult> {
  const now = (opts.now ?? (() => new Date()))();
  const repo = writerRepo(opts);
  mkdirSync(opts.stateDir, { recursive: true });
  const lock = await waitLock(join(opts.stateDir, 'gc.lock'), 60_000);
  if (!lock) throw new TransientError('E_GC_BUSY', `another gc holds ${join(opts.stateDir, 'gc.lock')}; try again later`);
  try {
    await ensureWriterRepo(repo);
    if (opts.dryRun) return await dryRun(repo, opts, now);
    let last: { expired: Expired[]; unreadable: number; grace: number } = { expired: [], unreadable: 0, grace: 0 };
    const result = await commitAndPush(repo, {
      author: { name: opts.host, email: `fail2git@${opts.host}` },
      signingKey: opts.signingKey,
      paths: [LEDGER_FILES.bans, LEDGER_FILES.policy],
      mutate: ({ files }) => {
        const grace = graceFrom(files[LEDGER_FILES.policy] ?? null, opts.graceMs);
        const plan = planGc(files[LEDGER_FILES.bans] ?? '', gcCutoff(now, grace));
        last = { expired: plan.expired, unreadable: plan.unreadable, grace };
        if (plan.expired.length === 0) return null;
        return { files: { [LEDGER_FILES.bans]: plan.text }, message: gcMessage(opts.host, plan.expired, now) };
      },
    });
    return {
      commit: result.commit,
      expired: result.commit ? last.expired : [],
      unreadable: last.unreadable,
      grace: formatDuration(last.grace),
      tip: result.tip,
      attempts: result.attempts,
      dryRun: false,
    };
  } finally {
    lock.release();
  }
}

async function dryRun(repo: WriterRepo, opts: GcOptions, now: Date): Promise<GcResult> {
  const tip = await fetchRemoteTip(repo);
  const files = await readAt(repo, tip, [LEDGER_FILES.bans, LEDGER_FILES.policy]);
  const grace = graceFrom(files[LEDGER_FILES.policy] ?? null, opts.graceMs);
  const plan = planGc(files[LEDGER_FILES.bans] ?? '', gcCutoff(now, grace));
  return { commit: null, expired: plan.expired, unreadable: plan.unreadable, grace: formatDuration(grace), tip, attempts: 0, dryRun: true };
}

/** Pure: does the loaded ledger hold anything gc would remove? (Saves a fetch when not.) */
export function hasCollectable(bans: readonly BanEntry[], now: Date, graceMs: number): boolean {
  const cutoff = gcCutoff(now, graceMs);
  return bans.some((b) => b.expires !== undefined && Date.parse(b.expires) <= cutoff);
}

/**
 * For the reconcile loop: when the policy names this host as `gcHost` and the ledger it just
 * enforced holds collectable entries, run gc. Returns null when there was nothing to do.
 * Never throws for a lost race; a remote error is thrown for the caller to log (it must not
 * fail the reconcile run).
 */
export async function maybeRunGc(
  cfg: { host: string; remote: string; branch: string; stateDir: string; signingKey?: string | undefined },
  ledger: Pick<Ledger, 'bans' | 'policy'>,
  now: Date = new Date(),
): Promise<GcResult | null> {
  if (!ledger.policy.gcHost || ledger.policy.gcHost !== cfg.host) return null;
  let graceMs: number;
  try {
    graceMs = parseDuration(ledger.policy.gcGrace);
  } catch (err) {
    throw new InputError('E_GC_GRACE', `policy gcGrace: ${(err as Error).message}`);
  }
  if (!hasCollectable(ledger.bans, now, graceMs)) return null;
  return runGc({ ...cfg, now: () => now });
}
